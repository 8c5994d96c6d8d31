import { Alert, App, Button, Card, Descriptions, Space, Table, Tag, Typography } from "antd";
import { useState } from "react";
import { useParams } from "react-router-dom";
import { unwrap } from "../api/client";
import type { components } from "../api/schema";
import { errorText, Loadable, useLoad } from "../components/Async";
import { DiffTable } from "../components/Diff";
import { ReasonModal } from "../components/ReasonModal";
import { useApp, useCan } from "../context";
import { useI18n } from "../i18n";
import { formatTime } from "../lib/format";
import { AuditTable } from "./Audit";

type Key = components["schemas"]["KeyInfo"];

/** A partner: account, configuration, keys (a new secret is shown once), suspend/resume, audit trail. */
export default function Partner() {
  const id = useParams().id!;
  const { client } = useApp();
  const { t, lang } = useI18n();
  const can = useCan();
  const { message } = App.useApp();
  const path = { partnerId: id };
  const detail = useLoad(() => unwrap(client.GET("/ops/partners/{partnerId}", { params: { path } })), [id]);
  const keys = useLoad(() => unwrap(client.GET("/ops/partners/{partnerId}/keys", { params: { path } })), [id]);
  const audit = useLoad(
    () => unwrap(client.GET("/ops/audit", { params: { query: { partner_id: id, limit: 50 } } })),
    [id],
  );
  const [secret, setSecret] = useState<components["schemas"]["IssuedKey"] | null>(null);
  const [ask, setAsk] = useState<{ what: "suspend" | "resume" } | { what: "revoke"; keyId: string } | null>(null);

  const issue = async () => {
    try {
      setSecret(await unwrap(client.POST("/ops/partners/{partnerId}/keys", { params: { path } })));
      keys.reload();
    } catch (e) {
      message.error(errorText(e));
    }
  };
  const act = async (reason: string) => {
    if (!ask) return;
    try {
      if (ask.what === "revoke") {
        await unwrap(
          client.DELETE("/ops/partners/{partnerId}/keys/{keyId}", {
            params: { path: { partnerId: id, keyId: ask.keyId }, query: { reason } },
          }),
        );
        keys.reload();
      } else {
        const route = ask.what === "suspend" ? "/ops/partners/{partnerId}/suspend" : "/ops/partners/{partnerId}/resume";
        await unwrap(client.POST(route, { params: { path }, body: { reason } }));
        detail.reload();
      }
      message.success(t("state.done"));
      setAsk(null);
      audit.reload();
    } catch (e) {
      message.error(errorText(e));
    }
  };

  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Loadable state={detail}>
        {(d) => (
          <>
            <Typography.Title level={1} style={{ fontSize: 22 }}>
              {d.account.name}
            </Typography.Title>
            <Card
              title={t("partners.account")}
              extra={
                can("suspendPartner") ? (
                  d.account.status === "suspended" ? (
                    <Button onClick={() => setAsk({ what: "resume" })}>{t("partners.resume")}</Button>
                  ) : d.account.status === "active" ? (
                    <Button danger onClick={() => setAsk({ what: "suspend" })}>
                      {t("partners.suspend")}
                    </Button>
                  ) : null
                ) : null
              }
            >
              <Descriptions size="small" column={2}>
                <Descriptions.Item label="ID">{d.account.id}</Descriptions.Item>
                <Descriptions.Item label={t("partners.kind")}>{d.account.kind}</Descriptions.Item>
                <Descriptions.Item label={t("partners.status")}>
                  <Tag>{d.account.status}</Tag>
                </Descriptions.Item>
                <Descriptions.Item label={t("partners.agreement")}>{d.account.agreement_ref}</Descriptions.Item>
                <Descriptions.Item label={t("partners.statusReason")}>{d.account.status_reason ?? "—"}</Descriptions.Item>
                <Descriptions.Item label={t("partners.config")}>
                  {d.config ? <Tag>{d.config.state} v{d.config.version}</Tag> : "—"}
                </Descriptions.Item>
              </Descriptions>
            </Card>
            {d.pending_change ? (
              <Card title={t("partners.pendingChange")}>
                <DiffTable changes={d.pending_change.diff} />
              </Card>
            ) : null}
            <Card title={t("partners.config")}>
              <pre style={{ whiteSpace: "pre-wrap", maxHeight: 320, overflow: "auto" }}>
                {JSON.stringify(d.config?.config ?? {}, null, 2)}
              </pre>
            </Card>
          </>
        )}
      </Loadable>
      <Card
        title={t("partners.keys")}
        extra={can("partnerKeys") ? <Button onClick={issue}>{t("partners.issueKey")}</Button> : null}
      >
        {secret ? (
          <Alert
            type="warning"
            showIcon
            closable
            onClose={() => setSecret(null)}
            title={t("partners.secretOnce")}
            description={
              <Typography.Text copyable code>
                {`${secret.key_id} ${secret.secret}`}
              </Typography.Text>
            }
          />
        ) : null}
        <Loadable state={keys} empty={(k) => k.items.length === 0}>
          {(k) => (
            <Table<Key>
              size="small"
              rowKey="key_id"
              dataSource={k.items}
              pagination={false}
              columns={[
                { title: t("partners.keyId"), dataIndex: "key_id" },
                { title: t("partners.status"), dataIndex: "status", render: (s: string) => <Tag>{s}</Tag> },
                { title: t("partners.created"), dataIndex: "created_at", render: (s: string) => formatTime(s, lang) },
                {
                  title: "",
                  render: (_, key) =>
                    can("partnerKeys") && key.status === "active" ? (
                      <Button size="small" danger onClick={() => setAsk({ what: "revoke", keyId: key.key_id })}>
                        {t("partners.revoke")}
                      </Button>
                    ) : null,
                },
              ]}
            />
          )}
        </Loadable>
      </Card>
      <Card title={t("partners.audit")}>
        <Loadable state={audit} empty={(a) => a.items.length === 0}>
          {(a) => <AuditTable items={a.items} />}
        </Loadable>
      </Card>
      <ReasonModal
        open={ask !== null}
        title={ask ? t(`partners.${ask.what}`) : ""}
        label={t("partners.reason")}
        onCancel={() => setAsk(null)}
        onSubmit={act}
      />
    </Space>
  );
}
