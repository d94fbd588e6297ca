import { CenterSettings } from '@parley/center-config';

export const CENTER_SETTINGS = Symbol('CENTER_SETTINGS');

/** The contact-center file named by PARLEY_CENTER_FILE (empty settings without one); a bad file stops the service. */
export function centerSettingsProvider(file: string | undefined) {
  return { provide: CENTER_SETTINGS, useValue: file ? CenterSettings.load(file) : CenterSettings.empty() };
}
