import { Button, Card, Form, Input, Space, Table, Tag, Typography } from "antd";
import { Link, useNavigate } from "react-router-dom";
import { unwrap } from "../api/client";
import type { components } from "../api/schema";
import { Loadable, useLoad } from "../components/Async";
import { useApp } from "../context";
import { useI18n } from "../i18n";
import { formatMoney } from "../lib/money";
import { formatTime } from "../lib/format";

type Entry = components["schemas"]["ClaimReviewEntry"];

/** Claims waiting for staff: the review queue, and any claim opened by its number. */
export default function Claims() {
  const { client, session } = useApp();
  const { t, lang } = useI18n();
  const nav = useNavigate();
  const canQueue = session.roles.some((r) => r === "admin" || r === "underwriter" || r === "service");
  const queue = useLoad(
    () =>
      canQueue
        ? unwrap(client.GET("/ops/claim-reviews", { params: { query: { limit: 100 } } }))
        : Promise.resolve({ items: [] as Entry[] }),
    [canQueue],
  );
  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {t("nav.claims")}
      </Typography.Title>
      <Card title={t("claims.open")}>
        <Form layout="inline" onFinish={(v: { n: string }) => nav(`/claims/${encodeURIComponent(v.n.trim())}`)}>
          <Form.Item name="n" label={t("claims.number")} rules={[{ required: true, whitespace: true }]}>
            <Input style={{ width: 260 }} />
          </Form.Item>
          <Button htmlType="submit" type="primary">
            {t("action.open")}
          </Button>
        </Form>
      </Card>
      {canQueue ? (
        <Card title={t("claims.queue")} extra={<Button onClick={queue.reload}>{t("action.refresh")}</Button>}>
          <Loadable state={queue} empty={(d) => d.items.length === 0}>
            {(d) => (
              <Table<Entry>
                rowKey="claim_number"
                dataSource={d.items}
                pagination={false}
                columns={[
                  {
                    title: t("claims.number"),
                    dataIndex: "claim_number",
                    render: (n: string) => <Link to={`/claims/${n}`}>{n}</Link>,
                  },
                  { title: t("claims.status"), dataIndex: "status", render: (s: string) => <Tag>{t(`claims.s.${s}` as never)}</Tag> },
                  { title: t("claims.amount"), render: (_, c) => formatMoney(c.amount, c.currency, lang) },
                  { title: t("claims.benefit"), dataIndex: "benefit_code" },
                  { title: t("claims.policy"), dataIndex: "policy_number" },
                  { title: t("claims.why"), render: (_, c) => c.review.reason },
                  { title: t("claims.since"), render: (_, c) => formatTime(c.review.since, lang) },
                ]}
              />
            )}
          </Loadable>
        </Card>
      ) : null}
    </Space>
  );
}
