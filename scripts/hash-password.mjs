#!/usr/bin/env node
// Prints the scrypt hash of a password for WEB_USERS_FILE: node scripts/hash-password.mjs 'the password'
import { randomBytes, scryptSync } from 'node:crypto';

const password = process.argv[2];
if (!password) {
  process.stderr.write('usage: node scripts/hash-password.mjs <password>\n');
  process.exit(2);
}
const salt = randomBytes(16);
process.stdout.write(`scrypt$${salt.toString('base64')}$${scryptSync(password, salt, 32).toString('base64')}\n`);
