import { useCallback } from "react";
import { interpolate, useI18n } from "../i18n";
import { en, zh, type PortalKey } from "./messages";

/** The portal's own texts in the console's language (zh-CN by default). */
export function usePortalText(): (key: PortalKey, vars?: Record<string, string | number>) => string {
  const { lang } = useI18n();
  return useCallback(
    (key: PortalKey, vars?: Record<string, string | number>) => interpolate((lang === "en" ? en : zh)[key], vars),
    [lang],
  );
}
