import { App, Button, Card, Form, Input, InputNumber, Select, Space, Table, Tabs, Tag, Typography } from "antd";
import { useMemo, useState } from "react";
import { unwrap } from "../api/client";
import type { components } from "../api/schema";
import { Chart } from "../components/Chart";
import { errorText, Loadable, useLoad } from "../components/Async";
import { useApp, useCan } from "../context";
import { useI18n } from "../i18n";
import { formatDuration, formatTime } from "../lib/format";
import { fileBlob, LIMIT_NODES, limitProblems, limitsOf, regionList, rowsOf, trendOf, type LimitRow } from "../lib/sla";

type View = components["schemas"]["SlaConfigView"];
type Report = components["schemas"]["ReportEntry"];
type Effective = components["schemas"]["EffectiveLimit"];
type Kind = "daily" | "snapshot" | "summary";

/** SLA and reports: the time limits per node × service type, and the nightly reports with their trend. */
export default function Sla() {
  const { t } = useI18n();
  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {t("nav.sla")}
      </Typography.Title>
      <Tabs
        items={[
          { key: "config", label: t("sla.config"), children: <Config /> },
          { key: "reports", label: t("sla.reports"), children: <Reports /> },
        ]}
      />
    </Space>
  );
}

function Config() {
  const { client } = useApp();
  const cfg = useLoad(() => unwrap(client.GET("/ops/sla/config")), []);
  return <Loadable state={cfg}>{(v) => <Editor key={v.current.version} view={v} onSaved={cfg.reload} />}</Loadable>;
}

function Editor({ view, onSaved }: { view: View; onSaved: () => void }) {
  const { client } = useApp();
  const { t, lang } = useI18n();
  const can = useCan();
  const { message } = App.useApp();
  const editable = can("editSla");
  const [rows, setRows] = useState<LimitRow[]>(() => rowsOf(view.current.limits));
  const [remotePct, setRemotePct] = useState<number | null>(view.current.remote_extra_pct ?? 0);
  const [corePct, setCorePct] = useState<number | null>(view.current.core_stricter_pct ?? 0);
  const [regions, setRegions] = useState((view.current.remote_regions ?? []).join(", "));
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const problems = limitProblems(rows);
  const bad = (i: number, p: string) => problems.some((x) => x.row === i && x.problem === p);
  const set = (i: number, patch: Partial<LimitRow>) => setRows((rs) => rs.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  const save = async () => {
    setBusy(true);
    try {
      const saved = await unwrap(
        client.PUT("/ops/sla/config", {
          body: {
            limits: limitsOf(rows),
            remote_extra_pct: remotePct ?? 0,
            core_stricter_pct: corePct ?? 0,
            remote_regions: regionList(regions),
            expected_version: view.is_default ? null : view.current.version,
            reason: reason.trim() || null,
          },
        }),
      );
      message.success(saved.changed ? t("sla.saved", { version: saved.version.version }) : t("sla.unchanged"));
      onSaved();
    } catch (e) {
      message.error(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Card
        title={t("sla.limits")}
        extra={
          <span>
            {t("sla.version", { version: view.current.version })}
            {view.is_default ? <Tag style={{ marginLeft: 8 }}>{t("sla.default")}</Tag> : null}
            {view.updated_at ? ` · ${formatTime(view.updated_at, lang)} ${view.updated_by ?? ""}` : null}
          </span>
        }
      >
        <Table<LimitRow>
          size="small"
          rowKey={(_, i) => String(i)}
          pagination={false}
          dataSource={rows}
          columns={[
            {
              title: t("wo.node"),
              render: (_, r, i) => (
                <Select
                  aria-label={`${t("wo.node")} ${i + 1}`}
                  disabled={!editable}
                  style={{ width: 200 }}
                  value={r.node}
                  onChange={(node) => set(i, { node })}
                  options={LIMIT_NODES.map((n) => ({ value: n, label: n }))}
                />
              ),
            },
            {
              title: t("wo.serviceType"),
              render: (_, r, i) => (
                <Input
                  aria-label={`${t("wo.serviceType")} ${i + 1}`}
                  disabled={!editable}
                  status={bad(i, "serviceType") || bad(i, "duplicate") ? "error" : undefined}
                  style={{ width: 160 }}
                  value={r.service_type}
                  onChange={(e) => set(i, { service_type: e.target.value })}
                />
              ),
            },
            {
              title: t("sla.minutes"),
              render: (_, r, i) => (
                <Space>
                  <InputNumber
                    aria-label={`${t("sla.minutes")} ${i + 1}`}
                    disabled={!editable}
                    status={bad(i, "minutes") ? "error" : undefined}
                    value={r.minutes}
                    onChange={(m) => set(i, { minutes: m })}
                  />
                  <span>{formatDuration((r.minutes ?? 0) * 60, lang)}</span>
                </Space>
              ),
            },
            ...(editable
              ? [
                  {
                    title: t("sla.remove"),
                    render: (_: unknown, __: LimitRow, i: number) => (
                      <Button onClick={() => setRows((rs) => rs.filter((_, j) => j !== i))}>{t("action.remove")}</Button>
                    ),
                  },
                ]
              : []),
          ]}
        />
        {problems.length ? (
          <Typography.Text type="danger" role="alert">
            {problems.map((p) => t(`sla.problem.${p.problem}`, { row: p.row + 1 })).join("; ")}
          </Typography.Text>
        ) : null}
        {editable ? (
          <Button style={{ marginTop: 12 }} onClick={() => setRows((rs) => [...rs, { node: "accepted", service_type: "*", minutes: 60 }])}>
            {t("sla.addLimit")}
          </Button>
        ) : null}
      </Card>
      <Card title={t("sla.adjustments")}>
        <Form layout="vertical" style={{ maxWidth: 560 }}>
          <Form.Item label={t("sla.remotePct")} htmlFor="sla-remote-pct">
            <InputNumber id="sla-remote-pct" disabled={!editable} value={remotePct} onChange={setRemotePct} />
          </Form.Item>
          <Form.Item label={t("sla.remoteRegions")} htmlFor="sla-remote-regions">
            <Input.TextArea id="sla-remote-regions" disabled={!editable} rows={2} value={regions} onChange={(e) => setRegions(e.target.value)} />
          </Form.Item>
          <Form.Item label={t("sla.corePct")} htmlFor="sla-core-pct">
            <InputNumber id="sla-core-pct" disabled={!editable} value={corePct} onChange={setCorePct} />
          </Form.Item>
          {editable ? (
            <>
              <Form.Item label={t("audit.reason")} htmlFor="sla-reason">
                <Input id="sla-reason" value={reason} onChange={(e) => setReason(e.target.value)} />
              </Form.Item>
              <Button type="primary" loading={busy} disabled={problems.length > 0 || rows.length === 0} onClick={save}>
                {t("sla.save")}
              </Button>
            </>
          ) : null}
        </Form>
      </Card>
      <Card title={t("sla.effective")}>
        <Table<Effective>
          size="small"
          rowKey={(e) => `${e.node}|${e.service_type}`}
          pagination={false}
          dataSource={view.effective}
          columns={[
            { title: t("wo.node"), dataIndex: "node" },
            { title: t("wo.serviceType"), dataIndex: "service_type" },
            { title: t("sla.base"), render: (_, e) => formatDuration(e.base_seconds, lang) },
            { title: t("sla.remote"), render: (_, e) => formatDuration(e.remote_seconds, lang) },
            { title: t("sla.core"), render: (_, e) => formatDuration(e.core_seconds, lang) },
            { title: t("sla.remoteCore"), render: (_, e) => formatDuration(e.remote_core_seconds, lang) },
          ]}
        />
      </Card>
      <Card title={t("sla.history")}>
        <Table
          size="small"
          rowKey="version"
          pagination={false}
          dataSource={view.versions}
          columns={[
            { title: t("pol.version"), dataIndex: "version" },
            { title: t("pol.at"), dataIndex: "at", render: (s: string) => formatTime(s, lang) },
            { title: t("sla.by"), dataIndex: "by" },
            { title: t("audit.reason"), dataIndex: "reason", render: (s: string | null) => s ?? "—" },
          ]}
        />
      </Card>
    </Space>
  );
}

function Reports() {
  const { client } = useApp();
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const [kind, setKind] = useState<Kind>("daily");
  const list = useLoad(() => unwrap(client.GET("/ops/sla/reports", { params: { query: { kind, limit: 30 } } })), [kind]);
  const trend = useMemo(() => trendOf(list.data?.items ?? []), [list.data]);
  const option = useMemo(
    () => ({
      tooltip: { trigger: "axis" },
      legend: { data: [t("sla.orders"), t("sla.completed"), t("sla.breachRate")] },
      xAxis: { type: "category", data: trend.map((p) => p.day) },
      yAxis: [{ type: "value" }, { type: "value", axisLabel: { formatter: "{value}%" } }],
      series: [
        { name: t("sla.orders"), type: "bar", data: trend.map((p) => p.orders) },
        { name: t("sla.completed"), type: "bar", data: trend.map((p) => p.completed) },
        { name: t("sla.breachRate"), type: "line", yAxisIndex: 1, data: trend.map((p) => p.breachRate) },
      ],
    }),
    [trend, t],
  );
  const download = async (r: Report, format: "csv" | "json" | "png") => {
    try {
      const f = await unwrap(
        client.GET("/ops/sla/reports/{kind}/{date}/{format}", {
          params: { path: { kind: r.kind as Kind, date: r.day, format } },
        }),
      );
      const url = URL.createObjectURL(fileBlob(f));
      const a = document.createElement("a");
      a.href = url;
      a.download = `${r.kind}-${r.day}.${format}`;
      a.click();
      URL.revokeObjectURL(url);
    } catch (e) {
      message.error(errorText(e));
    }
  };
  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Select<Kind>
        aria-label={t("sla.kind")}
        style={{ width: 200 }}
        value={kind}
        onChange={setKind}
        options={(["daily", "summary", "snapshot"] as const).map((k) => ({ value: k, label: t(`sla.kind.${k}`) }))}
      />
      <Loadable state={list} empty={(d) => d.items.length === 0}>
        {(d) => (
          <>
            {kind === "daily" && trend.length ? (
              <Card title={t("sla.trend")}>
                <Chart option={option} label={t("sla.trend")} />
              </Card>
            ) : null}
            <Table<Report>
              size="small"
              rowKey="id"
              pagination={false}
              dataSource={d.items}
              columns={[
                { title: t("sla.day"), dataIndex: "day" },
                { title: t("sla.generated"), dataIndex: "generated_at", render: (s: string) => formatTime(s, lang) },
                {
                  title: t("sla.figures"),
                  render: (_, r) => {
                    const o = ((r.stats ?? {}) as { overall?: Record<string, unknown> }).overall;
                    return o ? Object.entries(o).map(([k, v]) => `${k}: ${String(v)}`).join(" · ") : "—";
                  },
                },
                {
                  title: t("sla.download"),
                  render: (_, r) => (
                    <Space>
                      {r.formats.map((f) => (
                        <Button key={f} size="small" onClick={() => download(r, f)}>
                          {f.toUpperCase()}
                        </Button>
                      ))}
                    </Space>
                  ),
                },
              ]}
            />
          </>
        )}
      </Loadable>
    </Space>
  );
}
