import { Card, Col, Row, Statistic, Typography } from "antd";
import { useMemo } from "react";
import { toApiError, ApiFailure } from "../api/client";
import { Loadable, useLoad } from "../components/Async";
import { Chart } from "../components/Chart";
import { useApp } from "../context";
import { useI18n } from "../i18n";
import { formatTime } from "../lib/format";
import { figures, gauges, seriesOf, type OverviewData } from "../lib/overview";
import { has, type MsgKey } from "../messages";

const REFRESH_MS = 30_000;

/** Today and this month at a glance, with a 30-day trend; refreshes by itself. */
export default function Overview() {
  const { apiBase, session } = useApp();
  const { t, lang } = useI18n();
  const state = useLoad(
    async () => {
      const r = await fetch(`${apiBase}/ops/overview`, { headers: { Authorization: `Bearer ${session.token}` } });
      const body = await r.json().catch(() => null);
      if (!r.ok) throw new ApiFailure(toApiError(r.status, body));
      return { data: body as OverviewData, at: new Date().toISOString() };
    },
    [apiBase, session.token],
    REFRESH_MS,
  );
  const label = (k: string) => (has(`ov.${k}`) ? t(`ov.${k}` as MsgKey) : k);
  const trend = useMemo(() => (state.data ? seriesOf(state.data.data) : null), [state.data]);
  const option = useMemo(
    () =>
      trend && {
        tooltip: { trigger: "axis" },
        legend: { type: "scroll" },
        xAxis: { type: "category", data: trend.dates },
        yAxis: { type: "value" },
        series: trend.lines.map((l) => ({ name: label(l.key), type: "line", data: l.values })),
      },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [trend, lang],
  );
  return (
    <>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {t("nav.overview")}
      </Typography.Title>
      <Loadable state={state}>
        {({ data, at }) => (
          <>
            <Typography.Paragraph type="secondary">{t("ov.updated", { at: formatTime(at, lang) })}</Typography.Paragraph>
            <Row gutter={[16, 16]} data-testid="overview-figures">
              {figures(data).map((f) => (
                <Col key={f.key} xs={12} md={8} xl={6}>
                  <Card size="small">
                    <Statistic title={`${label(f.key)} · ${t("ov.today")}`} value={f.today ?? "—"} />
                    <Typography.Text type="secondary">
                      {t("ov.month")}: {f.month ?? "—"}
                    </Typography.Text>
                  </Card>
                </Col>
              ))}
              {gauges(data).map(([k, v]) => (
                <Col key={k} xs={12} md={8} xl={6}>
                  <Card size="small">
                    <Statistic title={label(k.split(".")[0])} value={v ?? "—"} suffix={k.includes(".") ? k.split(".")[1] : undefined} />
                  </Card>
                </Col>
              ))}
            </Row>
            <Card title={t("ov.trend")} style={{ marginTop: 16 }}>
              {option && trend && trend.dates.length > 0 ? (
                <Chart option={option} label={t("ov.trend")} height={320} />
              ) : (
                <Typography.Text>{t("state.empty")}</Typography.Text>
              )}
            </Card>
          </>
        )}
      </Loadable>
    </>
  );
}
