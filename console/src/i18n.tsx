import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import { en, zh, type MsgKey } from "./messages";

export type Lang = "zh-CN" | "en";
const STORE = "petcover.console.lang";

export function interpolate(text: string, vars?: Record<string, string | number>): string {
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m));
}

export function translate(lang: Lang, key: MsgKey, vars?: Record<string, string | number>): string {
  return interpolate((lang === "en" ? en : zh)[key], vars);
}

export function initialLang(stored: string | null): Lang {
  return stored === "en" ? "en" : "zh-CN";
}

interface I18n {
  lang: Lang;
  setLang: (l: Lang) => void;
  t: (key: MsgKey, vars?: Record<string, string | number>) => string;
}

const Ctx = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(() => initialLang(localStorage.getItem(STORE)));
  const setLang = useCallback((l: Lang) => {
    localStorage.setItem(STORE, l);
    document.documentElement.lang = l;
    setLangState(l);
  }, []);
  const t = useCallback((key: MsgKey, vars?: Record<string, string | number>) => translate(lang, key, vars), [lang]);
  const value = useMemo(() => ({ lang, setLang, t }), [lang, setLang, t]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useI18n(): I18n {
  const v = useContext(Ctx);
  if (!v) throw new Error("useI18n outside I18nProvider");
  return v;
}
