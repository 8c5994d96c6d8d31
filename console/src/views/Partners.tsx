import { App, Button, Card, Space, Table, Typography } from "antd";
import { useState } from "react";
import { Link } from "react-router-dom";
import { unwrap } from "../api/client";
import type { components } from "../api/schema";
import { errorText, Loadable, useLoad } from "../components/Async";
import { DiffTable } from "../components/Diff";
import { ReasonModal } from "../components/ReasonModal";
import { useApp, useCan } from "../context";
import { Tone } from "../components/Tone";
import { useI18n } from "../i18n";
import { formatTime } from "../lib/format";

type Item = components["schemas"]["ReviewItem"];
type Change = components["schemas"]["ChangeRequest"];

type Pending =
  | { kind: "config"; partnerId: string; verdict: "approve" | "reject" }
  | { kind: "change"; partnerId: string; requestId: string; verdict: "approve" | "reject" };

/** The review queue: first configurations and change requests, approved or rejected with a reason. */
export default function Partners() {
  const { client } = useApp();
  const { t, lang } = useI18n();
  const can = useCan();
  const { message } = App.useApp();
  const queue = useLoad(() => unwrap(client.GET("/ops/partner-reviews")), []);
  const [pending, setPending] = useState<Pending | null>(null);

  const decide = async (text: string) => {
    if (!pending) return;
    const { partnerId } = pending;
    try {
      if (pending.kind === "config") {
        const path = { partnerId };
        await unwrap(
          pending.verdict === "approve"
            ? client.POST("/ops/partners/{partnerId}/config/approve", { params: { path }, body: { note: text || null } })
            : client.POST("/ops/partners/{partnerId}/config/reject", { params: { path }, body: { reason: text } }),
        );
      } else {
        const path = { partnerId, requestId: pending.requestId };
        await unwrap(
          pending.verdict === "approve"
            ? client.POST("/ops/partners/{partnerId}/changes/{requestId}/approve", {
                params: { path },
                body: { note: text || null },
              })
            : client.POST("/ops/partners/{partnerId}/changes/{requestId}/reject", { params: { path }, body: { reason: text } }),
        );
      }
      message.success(t(pending.verdict === "approve" ? "partners.approved" : "partners.rejected"));
      setPending(null);
      queue.reload();
    } catch (e) {
      message.error(errorText(e));
    }
  };

  type Target = { kind: "config"; partnerId: string } | { kind: "change"; partnerId: string; requestId: string };
  const actions = (p: Target) =>
    can("reviewPartner") ? (
      <Space>
        <Button type="primary" onClick={() => setPending({ ...p, verdict: "approve" } as Pending)}>
          {t("action.approve")}
        </Button>
        <Button danger onClick={() => setPending({ ...p, verdict: "reject" } as Pending)}>
          {t("action.reject")}
        </Button>
      </Space>
    ) : null;

  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {t("nav.partners")}
      </Typography.Title>
      <Loadable state={queue}>
        {(d) => (
          <>
            <Card title={t("partners.submitted", { n: d.submitted.length })}>
              <Table<Item>
                rowKey="partner_id"
                dataSource={d.submitted}
                pagination={false}
                columns={[
                  {
                    title: t("partners.name"),
                    render: (_, i) => <Link to={`/partners/${i.partner_id}`}>{i.partner_name}</Link>,
                  },
                  { title: t("partners.kind"), dataIndex: "kind" },
                  { title: t("partners.submittedAt"), dataIndex: "submitted_at", render: (s: string) => formatTime(s, lang) },
                  {
                    title: t("partners.problems"),
                    render: (_, i) => (i.problems.length ? <Tone tone="warn">{i.problems.length}</Tone> : <Tone tone="good">0</Tone>),
                  },
                  { title: "", render: (_, i) => actions({ kind: "config", partnerId: i.partner_id }) },
                ]}
                expandable={{
                  expandedRowRender: (i) => <pre style={{ whiteSpace: "pre-wrap" }}>{JSON.stringify(i.config, null, 2)}</pre>,
                }}
              />
            </Card>
            <Card title={t("partners.changes", { n: d.pending_changes.length })}>
              <Table<Change>
                rowKey="id"
                dataSource={d.pending_changes}
                pagination={false}
                columns={[
                  {
                    title: t("partners.name"),
                    render: (_, c) => <Link to={`/partners/${c.partner_id}`}>{c.partner_name}</Link>,
                  },
                  { title: t("partners.reason"), dataIndex: "reason" },
                  { title: t("partners.requestedBy"), dataIndex: "requested_by" },
                  { title: t("partners.requestedAt"), dataIndex: "requested_at", render: (s: string) => formatTime(s, lang) },
                  {
                    title: "",
                    render: (_, c) => actions({ kind: "change", partnerId: c.partner_id, requestId: c.id }),
                  },
                ]}
                expandable={{ defaultExpandAllRows: true, expandedRowRender: (c) => <DiffTable changes={c.diff} /> }}
              />
            </Card>
          </>
        )}
      </Loadable>
      <ReasonModal
        open={pending !== null}
        title={pending?.verdict === "approve" ? t("action.approve") : t("action.reject")}
        label={pending?.verdict === "approve" ? t("partners.note") : t("partners.rejectReason")}
        required={pending?.verdict === "reject"}
        onCancel={() => setPending(null)}
        onSubmit={decide}
      />
    </Space>
  );
}
