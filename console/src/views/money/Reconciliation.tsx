import { Button, Card, Space, Table, Typography } from "antd";
import { useState } from "react";
import { unwrap } from "../../api/client";
import type { components } from "../../api/schema";
import { Loadable, useLoad } from "../../components/Async";
import { useApp } from "../../context";
import { useI18n } from "../../i18n";
import { formatTime } from "../../lib/format";
import { StatusTag } from "./common";

type Night = components["schemas"]["ReconciliationDay"];
type Difference = components["schemas"]["Difference"];

/** The nightly financial reconciliation: the nights with their counts, and one night's differences. */
export default function Reconciliation() {
  const { client } = useApp();
  const { t, lang } = useI18n();
  const [day, setDay] = useState<string | null>(null);
  const nights = useLoad(
    () =>
      unwrap(
        client.GET("/ops/money/{view}", {
          params: { path: { view: "reconciliation-reports" }, query: { limit: 62 } },
        }),
      ),
    [],
  );
  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {t("money.reconciliation")}
      </Typography.Title>
      <Card title={t("money.reconciliation")} extra={<Button onClick={nights.reload}>{t("action.refresh")}</Button>}>
        <Loadable state={nights} empty={(d) => (d.reconciliation_reports ?? []).length === 0}>
          {(d) => (
            <Table<Night>
              size="small"
              rowKey="day"
              dataSource={d.reconciliation_reports ?? []}
              pagination={{ pageSize: 31 }}
              columns={[
                { title: t("money.day"), dataIndex: "day" },
                { title: t("money.status"), render: (_, n) => <StatusTag status={n.status} /> },
                { title: t("money.differences"), dataIndex: "differences" },
                { title: t("money.gaps"), dataIndex: "configuration_gaps" },
                { title: t("money.journals"), dataIndex: "journals" },
                { title: t("money.requestedAt"), render: (_, n) => formatTime(n.run_at, lang) },
                {
                  title: t("money.actions"),
                  render: (_, n) => (
                    <Button size="small" autoInsertSpace={false} onClick={() => setDay(n.day)} aria-label={`${t("money.openNight")} ${n.day}`}>
                      {t("money.openNight")}
                    </Button>
                  ),
                },
              ]}
            />
          )}
        </Loadable>
      </Card>
      {day ? <Night day={day} /> : null}
    </Space>
  );
}

function Night({ day }: { day: string }) {
  const { client } = useApp();
  const { t } = useI18n();
  const report = useLoad(
    () => unwrap(client.GET("/ops/reconciliation/{date}", { params: { path: { date: day } } })),
    [day],
  );
  return (
    <Card title={t("money.nightOf", { day })}>
      <Loadable state={report} empty={(r) => r.differences.length + r.configuration_gaps.length === 0}>
        {(r) => (
          <Table<Difference & { gap?: boolean }>
            size="small"
            rowKey={(x) => `${x.check}|${x.kind}|${x.objects.join(",")}`}
            dataSource={[...r.differences, ...r.configuration_gaps.map((g) => ({ ...g, gap: true }))]}
            pagination={{ pageSize: 50 }}
            columns={[
              { title: t("money.check"), render: (_, x) => (x.gap ? `${x.check} (${t("money.gaps")})` : x.check) },
              { title: t("money.kind"), dataIndex: "kind" },
              { title: t("money.objects"), render: (_, x) => x.objects.join(", ") },
              { title: t("money.detail"), dataIndex: "detail" },
            ]}
          />
        )}
      </Loadable>
    </Card>
  );
}
