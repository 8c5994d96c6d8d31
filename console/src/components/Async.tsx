import { Alert, Button, Empty, Result, Spin } from "antd";
import { useCallback, useEffect, useRef, useState, type ReactNode } from "react";
import { ApiFailure } from "../api/client";
import { useI18n } from "../i18n";

export interface Loaded<T> {
  data: T | undefined;
  error: ApiFailure | Error | null;
  loading: boolean;
  reload: () => void;
}

/** Loads once on mount and whenever `deps` change; `reload` loads again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], refreshMs?: number): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ApiFailure | Error | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let live = true;
    setLoading(true);
    loadRef
      .current()
      .then((d) => {
        if (!live) return;
        setData(d);
        setError(null);
      })
      .catch((e: unknown) => {
        if (live) setError(e instanceof Error ? e : new Error(String(e)));
      })
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  useEffect(() => {
    if (!refreshMs) return;
    const id = window.setInterval(() => setTick((n) => n + 1), refreshMs);
    return () => window.clearInterval(id);
  }, [refreshMs]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, loading, reload };
}

export function errorText(e: unknown): string {
  if (e instanceof ApiFailure) return `${e.error.message} (${e.error.code})`;
  return e instanceof Error ? e.message : String(e);
}

/** Loading, error and empty states around what a view shows once its data is there. */
export function Loadable<T>({
  state,
  empty,
  children,
}: {
  state: Loaded<T>;
  empty?: (d: T) => boolean;
  children: (d: T) => ReactNode;
}) {
  const { t } = useI18n();
  if (state.error && state.data === undefined) {
    return (
      <Result
        status="warning"
        title={t("state.error")}
        subTitle={errorText(state.error)}
        extra={
          <Button type="primary" onClick={state.reload}>
            {t("action.retry")}
          </Button>
        }
      />
    );
  }
  if (state.data === undefined) {
    return (
      <div role="status" aria-live="polite" style={{ padding: 48, textAlign: "center" }}>
        <Spin />
        <div>{t("state.loading")}</div>
      </div>
    );
  }
  if (empty?.(state.data)) return <Empty description={t("state.empty")} />;
  return (
    <>
      {state.error ? <Alert type="warning" showIcon title={errorText(state.error)} /> : null}
      {children(state.data)}
    </>
  );
}
