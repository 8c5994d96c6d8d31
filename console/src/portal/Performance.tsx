import { Card, Descriptions, Space, Statistic, Table, Tag, Typography } from "antd";
import { unwrap } from "../api/client";
import type { components } from "../api/schema";
import { Loadable, useLoad } from "../components/Async";
import { formatTime } from "../lib/format";
import { useI18n } from "../i18n";
import { usePortal } from "./context";
import { usePortalText } from "./i18n";

type S = components["schemas"];
const pct = (v: number | null | undefined) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`);
const num = (v: number | null | undefined) => (v === null || v === undefined ? "—" : String(v));

/** The provider's own performance: one of timeliness, dispatch share, feedback or assessment. */
export default function Performance({ view }: { view: "timeliness" | "share" | "feedback" | "assessment" }) {
  const tp = usePortalText();
  const title = { timeliness: "portal.nav.timeliness", share: "portal.nav.share", feedback: "portal.nav.feedback", assessment: "portal.nav.assessment" } as const;
  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {tp(title[view])}
      </Typography.Title>
      {view === "timeliness" ? <TimelinessView /> : null}
      {view === "share" ? <ShareView /> : null}
      {view === "feedback" ? <FeedbackView /> : null}
      {view === "assessment" ? <AssessmentView /> : null}
    </Space>
  );
}

function TimelinessView() {
  const { client } = usePortal();
  const tp = usePortalText();
  const state = useLoad(() => unwrap(client.GET("/portal/timeliness")), []);
  return (
    <Loadable state={state}>
      {(d) => (
        <Space orientation="vertical" size="large" style={{ width: "100%" }}>
          <Space size="large">
            <Statistic title={tp("portal.t.overall")} value={pct(d.breach_rate)} />
            <Statistic
              title={tp("portal.t.rank")}
              value={d.ranking.rank ? tp("portal.t.rankValue", { rank: d.ranking.rank, of: d.ranking.of }) : tp("portal.t.noRank")}
            />
          </Space>
          <Card>
            <Table<S["NodeTimes"]>
              rowKey="node"
              pagination={false}
              dataSource={d.nodes}
              columns={[
                { title: tp("portal.t.node"), dataIndex: "node" },
                { title: tp("portal.t.sample"), dataIndex: "sample" },
                { title: tp("portal.t.p50"), dataIndex: "p50_minutes", render: num },
                { title: tp("portal.t.p90"), dataIndex: "p90_minutes", render: num },
                { title: tp("portal.t.breachRate"), dataIndex: "breach_rate", render: pct },
              ]}
            />
          </Card>
          <Card title={tp("portal.t.rank")}>
            <Table<S["PeerRate"]>
              rowKey="label"
              pagination={false}
              dataSource={d.ranking.peers}
              columns={[
                {
                  title: tp("portal.t.peer"),
                  dataIndex: "label",
                  render: (v: string) =>
                    v === "you" ? <Tag color="blue">{tp("portal.t.you")}</Tag> : tp("portal.t.peerN", { n: v.replace("peer ", "") }),
                },
                { title: tp("portal.t.onTime"), dataIndex: "on_time_rate", render: pct },
              ]}
            />
          </Card>
        </Space>
      )}
    </Loadable>
  );
}

function ShareView() {
  const { client } = usePortal();
  const tp = usePortalText();
  const state = useLoad(() => unwrap(client.GET("/portal/share")), []);
  return (
    <Loadable state={state}>
      {(d) => (
        <Card
          title={d.business_date}
          extra={
            <Space>
              {d.rule_version ? <Tag>{tp("portal.share.version", { v: d.rule_version })}</Tag> : null}
              {d.assessment ? <Tag color="blue">{tp("portal.share.assessment", { a: d.assessment })}</Tag> : null}
            </Space>
          }
        >
          <Table<S["ShareLine"]>
            rowKey={(r) => `${r.region_code}#${r.service_type}`}
            pagination={false}
            dataSource={d.lines}
            columns={[
              { title: tp("portal.share.region"), dataIndex: "region_code" },
              { title: tp("portal.share.serviceType"), dataIndex: "service_type" },
              { title: tp("portal.share.target"), dataIndex: "target_pct", render: (v: number) => `${v}%` },
              { title: tp("portal.share.actual"), dataIndex: "actual_pct", render: (v: number) => `${v}%` },
              { title: tp("portal.share.assigned"), dataIndex: "assigned_today" },
              { title: tp("portal.share.capacity"), dataIndex: "daily_capacity" },
            ]}
          />
        </Card>
      )}
    </Loadable>
  );
}

function FeedbackView() {
  const { client } = usePortal();
  const tp = usePortalText();
  const { lang } = useI18n();
  const state = useLoad(() => unwrap(client.GET("/portal/feedback")), []);
  return (
    <Loadable state={state}>
      {(d) => (
        <Space orientation="vertical" size="large" style={{ width: "100%" }}>
          <Space size="large">
            <Statistic title={tp("portal.fb.average")} value={num(d.average_rating)} />
            <Statistic title={tp("portal.fb.ratings")} value={d.rating_count} />
            <Statistic title={tp("portal.fb.complaints")} value={d.complaint_count} />
          </Space>
          <Card title={tp("portal.fb.ratings")}>
            <Table<S["Rating"]>
              rowKey="appointment_id"
              pagination={false}
              dataSource={d.ratings}
              columns={[
                { title: tp("portal.wo.id"), dataIndex: "appointment_id" },
                { title: tp("portal.fb.score"), dataIndex: "score" },
                { title: tp("portal.fb.comment"), render: (_, r) => [r.tags.join("、"), r.comment].filter(Boolean).join(" · ") },
                { title: "", dataIndex: "rated_at", render: (v: string) => formatTime(v, lang) },
              ]}
            />
          </Card>
          <Card title={tp("portal.fb.complaints")}>
            <Table<S["Complaint"]>
              rowKey="complaint_id"
              pagination={false}
              dataSource={d.complaints}
              columns={[
                { title: tp("portal.wo.id"), dataIndex: "work_order_id" },
                { title: tp("portal.fb.category"), dataIndex: "category" },
                { title: tp("portal.fb.description"), dataIndex: "description" },
                { title: "", dataIndex: "recorded_at", render: (v: string) => formatTime(v, lang) },
              ]}
            />
          </Card>
        </Space>
      )}
    </Loadable>
  );
}

function Counters({ c }: { c: S["MonthCounters"] }) {
  const tp = usePortalText();
  return (
    <Descriptions size="small" column={2} bordered>
      <Descriptions.Item label={tp("portal.as.orders")}>{c.orders}</Descriptions.Item>
      <Descriptions.Item label={tp("portal.as.breaches")}>{c.breaches}</Descriptions.Item>
      <Descriptions.Item label={tp("portal.as.exceptions")}>{c.exceptions}</Descriptions.Item>
      <Descriptions.Item label={tp("portal.fb.complaints")}>{c.complaints}</Descriptions.Item>
      <Descriptions.Item label={tp("portal.fb.ratings")}>{c.rating_count}</Descriptions.Item>
      <Descriptions.Item label={tp("portal.fb.average")}>
        {c.rating_count ? ((c.rating_sum ?? 0) / c.rating_count).toFixed(2) : "—"}
      </Descriptions.Item>
    </Descriptions>
  );
}

function AssessmentView() {
  const { client } = usePortal();
  const tp = usePortalText();
  const state = useLoad(() => unwrap(client.GET("/portal/assessment", { params: { query: {} } })), []);
  return (
    <Loadable state={state}>
      {(d) => (
        <Space orientation="vertical" size="large" style={{ width: "100%" }}>
          {d.assessment ? (
            <Card title={`${tp("portal.as.month")} ${d.month}`}>
              <Descriptions size="small" column={2} bordered>
                <Descriptions.Item label={tp("portal.as.grade")}>{d.assessment.grade ?? "—"}</Descriptions.Item>
                <Descriptions.Item label={tp("portal.as.score")}>{num(d.assessment.score)}</Descriptions.Item>
                <Descriptions.Item label={tp("portal.as.multiplier")}>{d.assessment.multiplier}</Descriptions.Item>
                <Descriptions.Item label={tp("portal.as.core")}>
                  {tp(d.assessment.core ? "portal.yes" : "portal.no")}
                </Descriptions.Item>
              </Descriptions>
              <Typography.Title level={2} style={{ fontSize: 16, marginTop: 16 }}>
                {tp("portal.as.inputs")}
              </Typography.Title>
              <Counters c={d.assessment.inputs} />
              <Table<S["NodeRate"]>
                style={{ marginTop: 12 }}
                rowKey="node"
                pagination={false}
                dataSource={d.assessment.on_time_by_node}
                columns={[
                  { title: tp("portal.t.node"), dataIndex: "node" },
                  { title: tp("portal.t.sample"), dataIndex: "done" },
                  { title: tp("portal.t.onTime"), dataIndex: "rate", render: pct },
                ]}
              />
              {d.assessment.notes.length ? (
                <ul>
                  {d.assessment.notes.map((n) => (
                    <li key={n}>{n}</li>
                  ))}
                </ul>
              ) : null}
            </Card>
          ) : (
            <Card>
              <Typography.Text>{tp("portal.as.none")}</Typography.Text>
            </Card>
          )}
          {d.current ? (
            <Card title={tp("portal.as.current")}>
              <Counters c={d.current} />
            </Card>
          ) : null}
        </Space>
      )}
    </Loadable>
  );
}
