import {
  App,
  Button,
  Card,
  Checkbox,
  Form,
  Input,
  InputNumber,
  Select,
  Space,
  Table,
  Tabs,
  Tag,
  Typography,
} from "antd";
import { useEffect, useMemo, useState } from "react";
import { Link } from "react-router-dom";
import { unwrap } from "../api/client";
import type { components } from "../api/schema";
import { errorText, Loadable, useLoad } from "../components/Async";
import { Chart } from "../components/Chart";
import { useApp, useCan } from "../context";
import { Tone } from "../components/Tone";
import { useI18n } from "../i18n";
import type { MsgKey } from "../messages";
import { formatTime } from "../lib/format";
import { diffRules, ruleProblems, shareSum, type RuleRow, type ShareRow } from "../lib/shares";
import { AssignModal } from "./WorkOrder";

type Summary = components["schemas"]["RuleSetSummary"];
type Gap = components["schemas"]["CoverageGap"];
type Entry = components["schemas"]["ManualQueueEntry"];
type Outcome = components["schemas"]["ProviderOutcome"];

const blankProvider = (): ShareRow => ({
  provider_id: "",
  share_pct: 0,
  weight: 1,
  daily_capacity: 100,
  exclusive: false,
  scope: "regional",
});

export default function Dispatch() {
  const { t } = useI18n();
  const [tab, setTab] = useState("rules");
  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {t("nav.dispatch")}
      </Typography.Title>
      <Tabs
        activeKey={tab}
        onChange={setTab}
        items={[
          { key: "rules", label: t("dispatch.rules"), children: <RulesEditor /> },
          { key: "versions", label: t("dispatch.versions"), children: <Versions /> },
          { key: "counters", label: t("dispatch.counters"), children: <Counters /> },
          { key: "gaps", label: t("dispatch.gaps"), children: <Gaps /> },
          { key: "manual", label: t("dispatch.manual"), children: <ManualQueue /> },
        ]}
      />
    </Space>
  );
}

function RulesEditor() {
  const { client } = useApp();
  const { t } = useI18n();
  const can = useCan();
  const { message } = App.useApp();
  const overview = useLoad(async () => {
    const o = await unwrap(client.GET("/ops/dispatch/rules", { params: { query: { limit: 20 } } }));
    const head =
      o.head_version > 0
        ? await unwrap(client.GET("/ops/dispatch/rules/{version}", { params: { path: { version: String(o.head_version) } } }))
        : null;
    return { overview: o, head };
  }, []);
  const [rules, setRules] = useState<RuleRow[]>([]);
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const [sim, setSim] = useState<components["schemas"]["SimulationOut"] | null>(null);
  useEffect(() => {
    if (overview.data) setRules((overview.data.head?.rules ?? []) as RuleRow[]);
  }, [overview.data]);
  const problems = useMemo(() => ruleProblems(rules), [rules]);
  const update = (i: number, f: (r: RuleRow) => RuleRow) => setRules((rs) => rs.map((r, j) => (j === i ? f(r) : r)));
  const setProvider = (i: number, k: number, patch: Partial<ShareRow>) =>
    update(i, (r) => ({ ...r, providers: r.providers.map((p, j) => (j === k ? { ...p, ...patch } : p)) }));

  const publish = async () => {
    setBusy(true);
    try {
      const v = await unwrap(
        client.PUT("/ops/dispatch/rules", {
          body: { rules, base_version: overview.data?.overview.head_version ?? 0, note: note || null },
        }),
      );
      message.success(t("dispatch.published", { version: v.version }));
      overview.reload();
    } catch (e) {
      message.error(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const simulate = async () => {
    try {
      setSim(await unwrap(client.POST("/ops/dispatch/simulate", { body: { rules, orders: 500 } })));
    } catch (e) {
      message.error(errorText(e));
    }
  };

  return (
    <Loadable state={overview}>
      {(d) => (
        <Space orientation="vertical" style={{ width: "100%" }}>
          <Typography.Text>
            {t("dispatch.headVersion", { version: d.overview.head_version })}
          </Typography.Text>
          {rules.map((r, i) => {
            const sum = shareSum(r);
            const ps = problems.get(i) ?? [];
            return (
              <Card
                key={i}
                size="small"
                title={
                  <Space wrap>
                    <Input
                      aria-label={t("dispatch.region")}
                      placeholder={t("dispatch.region")}
                      value={r.region_code}
                      style={{ width: 120 }}
                      onChange={(e) => update(i, (x) => ({ ...x, region_code: e.target.value }))}
                    />
                    <Input
                      aria-label={t("dispatch.serviceType")}
                      placeholder={t("dispatch.serviceType")}
                      value={r.service_type}
                      style={{ width: 180 }}
                      onChange={(e) => update(i, (x) => ({ ...x, service_type: e.target.value }))}
                    />
                    <Tone tone={sum === 100 ? "good" : "bad"} role="status" aria-live="polite" data-testid={`share-sum-${i}`}>
                      {t("dispatch.sum", { sum })}
                    </Tone>
                    {ps.map((p) => (
                      <Tone tone="warn" key={p}>
                        {t(`dispatch.problem.${p}` as MsgKey)}
                      </Tone>
                    ))}
                  </Space>
                }
                extra={
                  <Button danger onClick={() => setRules((rs) => rs.filter((_, j) => j !== i))}>
                    {t("dispatch.removeRule")}
                  </Button>
                }
              >
                <Table<ShareRow>
                  size="small"
                  pagination={false}
                  rowKey={(_, k) => String(k)}
                  dataSource={r.providers}
                  columns={[
                    {
                      title: t("dispatch.provider"),
                      render: (_, p, k) => (
                        <Input
                          aria-label={`${t("dispatch.provider")} ${k + 1}`}
                          value={p.provider_id}
                          onChange={(e) => setProvider(i, k, { provider_id: e.target.value })}
                        />
                      ),
                    },
                    {
                      title: t("dispatch.share"),
                      render: (_, p, k) => (
                        <InputNumber
                          aria-label={`${t("dispatch.share")} ${p.provider_id || k + 1}`}
                          min={0}
                          max={100}
                          value={p.share_pct}
                          onChange={(v) => setProvider(i, k, { share_pct: Number(v ?? 0) })}
                        />
                      ),
                    },
                    {
                      title: t("dispatch.weight"),
                      render: (_, p, k) => (
                        <InputNumber
                          aria-label={`${t("dispatch.weight")} ${p.provider_id || k + 1}`}
                          min={0}
                          max={10}
                          value={p.weight}
                          onChange={(v) => setProvider(i, k, { weight: Number(v ?? 0) })}
                        />
                      ),
                    },
                    {
                      title: t("dispatch.capacity"),
                      render: (_, p, k) => (
                        <InputNumber
                          aria-label={`${t("dispatch.capacity")} ${p.provider_id || k + 1}`}
                          min={1}
                          value={p.daily_capacity}
                          onChange={(v) => setProvider(i, k, { daily_capacity: Number(v ?? 1) })}
                        />
                      ),
                    },
                    {
                      title: t("dispatch.exclusive"),
                      render: (_, p, k) => (
                        <Checkbox
                          aria-label={`${t("dispatch.exclusive")} ${p.provider_id || k + 1}`}
                          checked={!!p.exclusive}
                          onChange={(e) => setProvider(i, k, { exclusive: e.target.checked })}
                        />
                      ),
                    },
                    {
                      title: t("dispatch.scope"),
                      render: (_, p, k) => (
                        <Select
                          aria-label={`${t("dispatch.scope")} ${p.provider_id || k + 1}`}
                          value={p.scope}
                          style={{ width: 120 }}
                          onChange={(v) => setProvider(i, k, { scope: v })}
                          options={[
                            { value: "regional", label: t("dispatch.regional") },
                            { value: "national", label: t("dispatch.national") },
                          ]}
                        />
                      ),
                    },
                    {
                      title: "",
                      render: (_, _p, k) => (
                        <Button
                          onClick={() => update(i, (x) => ({ ...x, providers: x.providers.filter((_, j) => j !== k) }))}
                        >
                          {t("action.remove")}
                        </Button>
                      ),
                    },
                  ]}
                />
                <Button
                  style={{ marginTop: 8 }}
                  onClick={() => update(i, (x) => ({ ...x, providers: [...x.providers, blankProvider()] }))}
                >
                  {t("dispatch.addProvider")}
                </Button>
              </Card>
            );
          })}
          <Space wrap>
            <Button
              onClick={() => setRules((rs) => [...rs, { region_code: "", service_type: "", providers: [blankProvider()] }])}
            >
              {t("dispatch.addRule")}
            </Button>
            <Input
              aria-label={t("dispatch.note")}
              placeholder={t("dispatch.note")}
              value={note}
              onChange={(e) => setNote(e.target.value)}
              style={{ width: 280 }}
            />
            <Button onClick={simulate}>{t("dispatch.simulate")}</Button>
            {can("publishRules") ? (
              <Button type="primary" loading={busy} disabled={problems.size > 0 || rules.length === 0} onClick={publish}>
                {t("dispatch.publish")}
              </Button>
            ) : null}
          </Space>
          {problems.size > 0 ? <Typography.Text type="danger">{t("dispatch.cannotPublish")}</Typography.Text> : null}
          {sim ? (
            <Card size="small" title={t("dispatch.simulation", { orders: sim.orders, ms: sim.elapsed_ms })}>
              <Table<Outcome>
                size="small"
                rowKey="provider_id"
                pagination={false}
                dataSource={sim.providers}
                columns={Object.keys(sim.providers[0] ?? {}).map((k) => ({ title: k, dataIndex: k, render: String }))}
              />
              <Typography.Text>
                {t("dispatch.simSummary", { manual: sim.manual, gaps: sim.coverage_gaps })}
              </Typography.Text>
            </Card>
          ) : null}
        </Space>
      )}
    </Loadable>
  );
}

function Versions() {
  const { client } = useApp();
  const { t, lang } = useI18n();
  const list = useLoad(() => unwrap(client.GET("/ops/dispatch/rules", { params: { query: { limit: 50 } } })), []);
  const [pair, setPair] = useState<[number, number] | null>(null);
  const diff = useLoad(async () => {
    if (!pair) return null;
    const [a, b] = await Promise.all(
      pair.map((v) => unwrap(client.GET("/ops/dispatch/rules/{version}", { params: { path: { version: String(v) } } }))),
    );
    return diffRules(a.rules as RuleRow[], b.rules as RuleRow[]);
  }, [pair?.[0], pair?.[1]]);
  return (
    <Loadable state={list} empty={(d) => d.versions.length === 0}>
      {(d) => (
        <Space orientation="vertical" style={{ width: "100%" }}>
          <Table<Summary>
            size="small"
            rowKey="version"
            pagination={false}
            dataSource={d.versions}
            columns={[
              { title: t("dispatch.version"), dataIndex: "version" },
              { title: t("dispatch.status"), dataIndex: "status", render: (s: string) => <Tag>{s}</Tag> },
              { title: t("dispatch.effective"), dataIndex: "effective_at", render: (s: string) => formatTime(s, lang) },
              { title: t("dispatch.by"), dataIndex: "published_by" },
              { title: t("dispatch.note"), dataIndex: "note" },
              {
                title: "",
                render: (_, v) =>
                  v.version > 1 ? (
                    <Button size="small" onClick={() => setPair([v.version - 1, v.version])}>
                      {t("dispatch.diffPrev")}
                    </Button>
                  ) : null,
              },
            ]}
          />
          {pair ? (
            <Card size="small" title={t("dispatch.diffTitle", { a: pair[0], b: pair[1] })}>
              <Loadable state={diff} empty={(x) => !x || x.length === 0}>
                {(x) => (
                  <Table
                    size="small"
                    rowKey="scope"
                    pagination={false}
                    dataSource={x ?? []}
                    columns={[
                      { title: t("dispatch.scopeCol"), dataIndex: "scope" },
                      { title: t("dispatch.change"), dataIndex: "change", render: (c: string) => <Tag>{c}</Tag> },
                      {
                        title: t("dispatch.before"),
                        render: (_, r) => r.before?.providers.map((p) => `${p.provider_id} ${p.share_pct}%`).join(", "),
                      },
                      {
                        title: t("dispatch.after"),
                        render: (_, r) => r.after?.providers.map((p) => `${p.provider_id} ${p.share_pct}%`).join(", "),
                      },
                    ]}
                  />
                )}
              </Loadable>
            </Card>
          ) : null}
        </Space>
      )}
    </Loadable>
  );
}

function Counters() {
  const { client } = useApp();
  const { t } = useI18n();
  const [scope, setScope] = useState<{ region_code: string; service_type: string } | null>(null);
  const counters = useLoad(async () => {
    if (!scope) return null;
    return unwrap(client.GET("/ops/dispatch/counters", { params: { query: scope } }));
  }, [scope?.region_code, scope?.service_type]);
  return (
    <Space orientation="vertical" style={{ width: "100%" }}>
      <Form layout="inline" onFinish={(v: { region_code: string; service_type: string }) => setScope(v)}>
        <Form.Item name="region_code" label={t("dispatch.region")} rules={[{ required: true }]}>
          <Input />
        </Form.Item>
        <Form.Item name="service_type" label={t("dispatch.serviceType")} rules={[{ required: true }]}>
          <Input />
        </Form.Item>
        <Button htmlType="submit">{t("action.show")}</Button>
      </Form>
      {scope ? (
        <Loadable state={counters} empty={(c) => !c || c.providers.length === 0}>
          {(c) =>
            c ? (
              <Chart
                label={t("dispatch.countersChart")}
                option={{
                  tooltip: {},
                  legend: {},
                  xAxis: { type: "category", data: c.providers.map((p) => p.provider_id) },
                  yAxis: { type: "value", name: "%" },
                  series: [
                    { name: t("dispatch.actual"), type: "bar", data: c.providers.map((p) => p.actual_pct) },
                    { name: t("dispatch.target"), type: "bar", data: c.providers.map((p) => p.target_pct ?? 0) },
                  ],
                }}
              />
            ) : null
          }
        </Loadable>
      ) : null}
    </Space>
  );
}

function Gaps() {
  const { client } = useApp();
  const { t, lang } = useI18n();
  const gaps = useLoad(() => unwrap(client.GET("/ops/dispatch/coverage-gaps", { params: { query: { limit: 100 } } })), []);
  return (
    <Loadable state={gaps} empty={(d) => d.items.length === 0}>
      {(d) => (
        <Table<Gap>
          size="small"
          rowKey={(g) => `${g.region_code}|${g.service_type}`}
          dataSource={d.items}
          pagination={false}
          columns={[
            { title: t("dispatch.region"), dataIndex: "region_code" },
            { title: t("dispatch.serviceType"), dataIndex: "service_type" },
            { title: t("dispatch.count"), dataIndex: "count" },
            { title: t("dispatch.lastKind"), dataIndex: "last_kind" },
            { title: t("dispatch.lastSeen"), dataIndex: "last_seen", render: (s: string) => formatTime(s, lang) },
          ]}
        />
      )}
    </Loadable>
  );
}

function ManualQueue() {
  const { client } = useApp();
  const { t, lang } = useI18n();
  const can = useCan();
  const [assign, setAssign] = useState<string | null>(null);
  const queue = useLoad(() => unwrap(client.GET("/ops/dispatch/manual-queue", { params: { query: { limit: 100 } } })), []);
  return (
    <>
      <Loadable state={queue} empty={(d) => d.items.length === 0}>
        {(d) => (
          <Table<Entry>
            size="small"
            rowKey="appointment_id"
            dataSource={d.items}
            pagination={false}
            columns={[
              {
                title: t("wo.id"),
                dataIndex: "appointment_id",
                render: (id: string) => <Link to={`/work-orders/${id}`}>{id}</Link>,
              },
              { title: t("wo.region"), dataIndex: "region_code" },
              { title: t("wo.serviceType"), dataIndex: "service_type" },
              { title: t("wo.reason"), dataIndex: "reason" },
              { title: t("wo.since"), dataIndex: "since", render: (s: string) => formatTime(s, lang) },
              {
                title: "",
                render: (_, e) =>
                  can("manualAssign") ? (
                    <Button size="small" onClick={() => setAssign(e.appointment_id)}>
                      {t("wo.assign")}
                    </Button>
                  ) : null,
              },
            ]}
          />
        )}
      </Loadable>
      {assign ? (
        <AssignModal
          id={assign}
          open
          onClose={(done) => {
            setAssign(null);
            if (done) queue.reload();
          }}
        />
      ) : null}
    </>
  );
}
