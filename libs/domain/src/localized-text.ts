/** Text in several languages, keyed by BCP 47 tag (`en`, `de`, `pt-BR`). */
export type LocalizedText = Readonly<Record<string, string>>;

/** The customer's locale exactly, then its language, then the fallback locale, then any text there is. */
export function pickText(text: LocalizedText, locale: string | null, fallbackLocale: string): string {
  if (locale) {
    const exact = Object.keys(text).find((k) => k.toLowerCase() === locale.toLowerCase());
    if (exact) return text[exact]!;
    const language = locale.split('-')[0]!.toLowerCase();
    const sameLanguage = Object.keys(text).find((k) => k.split('-')[0]!.toLowerCase() === language);
    if (sameLanguage) return text[sameLanguage]!;
  }
  return text[fallbackLocale] ?? Object.values(text)[0] ?? '';
}
