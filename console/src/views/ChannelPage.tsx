import { Alert, App, Button, Card, Descriptions, Space, Table, Tag, Typography } from "antd";
import { useState } from "react";
import { useParams } from "react-router-dom";
import { unwrap } from "../api/client";
import type { components } from "../api/schema";
import { errorText, Loadable, useLoad } from "../components/Async";
import { ReasonModal } from "../components/ReasonModal";
import { useApp, useCan } from "../context";
import { useI18n } from "../i18n";
import { formatTime } from "../lib/format";

type Contract = components["schemas"]["Contract"];
type Key = components["schemas"]["KeyInfo"];

/** A channel: its contracts, keys (sales) and webhook state (pause, resume). */
export default function ChannelPage() {
  const id = useParams().id!;
  const { client } = useApp();
  const { t, lang } = useI18n();
  const can = useCan();
  const { message } = App.useApp();
  const path = { channelId: id };
  const channel = useLoad(() => unwrap(client.GET("/ops/channels/{channelId}", { params: { path } })), [id]);
  const contracts = useLoad(() => unwrap(client.GET("/ops/channels/{channelId}/contracts", { params: { path } })), [id]);
  const keys = useLoad(
    () =>
      can("channelKeys")
        ? unwrap(client.GET("/ops/channels/{channelId}/keys", { params: { path } }))
        : Promise.resolve({ items: [] as Key[] }),
    [id],
  );
  const [webhook, setWebhook] = useState<components["schemas"]["EndpointStatus"] | null>(null);
  const [pausing, setPausing] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);

  const resume = async () => {
    try {
      setWebhook(await unwrap(client.POST("/ops/channels/{channelId}/webhook/resume", { params: { path } })));
    } catch (e) {
      message.error(errorText(e));
    }
  };

  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Loadable state={channel}>
        {(c) => (
          <>
            <Typography.Title level={1} style={{ fontSize: 22 }}>
              {c.name}
            </Typography.Title>
            <Descriptions size="small" column={2}>
              <Descriptions.Item label="ID">{c.id}</Descriptions.Item>
              <Descriptions.Item label={t("cat.status")}>
                <Tag>{c.status}</Tag>
              </Descriptions.Item>
              <Descriptions.Item label={t("cat.callback")}>{c.callback_url}</Descriptions.Item>
              <Descriptions.Item label={t("cat.rateLimit")}>{c.rate_limit}</Descriptions.Item>
            </Descriptions>
          </>
        )}
      </Loadable>
      <Card title={t("cat.contracts")}>
        <Loadable state={contracts} empty={(d) => d.items.length === 0}>
          {(d) => (
            <Table<Contract>
              size="small"
              rowKey="product_code"
              dataSource={d.items}
              pagination={false}
              columns={[
                { title: t("cat.product"), dataIndex: "product_code" },
                { title: t("cat.status"), dataIndex: "status", render: (s: string) => <Tag>{s}</Tag> },
                { title: t("cat.permissions"), render: (_, x) => x.permissions.join(", ") },
                { title: t("cat.commission"), dataIndex: "commission_pct" },
                { title: t("cat.from"), dataIndex: "effective_from" },
                { title: t("cat.to"), dataIndex: "effective_to" },
              ]}
            />
          )}
        </Loadable>
      </Card>
      {can("channelKeys") ? (
        <Card
          title={t("partners.keys")}
          extra={
            <Button
              onClick={async () => {
                try {
                  const k = await unwrap(client.POST("/ops/channels/{channelId}/keys", { params: { path } }));
                  setSecret(`${k.key_id} ${k.secret}`);
                  keys.reload();
                } catch (e) {
                  message.error(errorText(e));
                }
              }}
            >
              {t("partners.issueKey")}
            </Button>
          }
        >
          {secret ? (
            <Alert
              type="warning"
              showIcon
              closable
              onClose={() => setSecret(null)}
              title={t("partners.secretOnce")}
              description={<Typography.Text copyable code>{secret}</Typography.Text>}
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
                ]}
              />
            )}
          </Loadable>
        </Card>
      ) : null}
      {can("webhookPause") ? (
        <Card title={t("cat.webhook")}>
          <Space>
            <Button danger onClick={() => setPausing(true)}>
              {t("cat.pause")}
            </Button>
            <Button onClick={resume}>{t("cat.resume")}</Button>
            {webhook ? (
              <span role="status">
                <Tag>{webhook.state}</Tag> {t("cat.failures", { n: webhook.consecutive_failures })}
              </span>
            ) : null}
          </Space>
        </Card>
      ) : null}
      <ReasonModal
        open={pausing}
        title={t("cat.pause")}
        label={t("audit.reason")}
        onCancel={() => setPausing(false)}
        onSubmit={async (reason) => {
          try {
            setWebhook(
              await unwrap(client.POST("/ops/channels/{channelId}/webhook/pause", { params: { path }, body: { reason } })),
            );
            setPausing(false);
          } catch (e) {
            message.error(errorText(e));
          }
        }}
      />
    </Space>
  );
}
