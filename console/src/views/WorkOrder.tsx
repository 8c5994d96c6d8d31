import { App, Button, Card, Descriptions, Form, Input, Modal, Space, Table, Tag, Timeline, Typography } from "antd";
import { useState } from "react";
import { Link, useParams } from "react-router-dom";
import { ApiFailure, unwrap } from "../api/client";
import type { components } from "../api/schema";
import { errorText, Loadable, useLoad } from "../components/Async";
import { ReasonModal } from "../components/ReasonModal";
import { useApp, useCan } from "../context";
import { Tone } from "../components/Tone";
import { useI18n } from "../i18n";
import { formatDuration, formatTime } from "../lib/format";

type Breach = components["schemas"]["SlaBreach"];
type Exc = components["schemas"]["WorkOrderException"];

/** One work order: its state, SLA timeline with due times and breaches, exceptions and dispatch. */
export default function WorkOrder() {
  const id = useParams().id!;
  const { client } = useApp();
  const { t, lang } = useI18n();
  const can = useCan();
  const { message } = App.useApp();
  const appt = useLoad(
    () => unwrap(client.GET("/ops/appointments/{appointmentId}", { params: { path: { appointmentId: id } } })),
    [id],
  );
  const timeline = useLoad(
    () =>
      unwrap(client.GET("/ops/work-orders/{orderId}/timeline", { params: { path: { orderId: id } } })).catch(
        (e: unknown) => {
          if (e instanceof ApiFailure && e.error.status === 404) return null; // not dispatched yet
          throw e;
        },
      ),
    [id],
  );
  const dispatch = useLoad(
    () => unwrap(client.GET("/ops/appointments/{appointmentId}/dispatch", { params: { path: { appointmentId: id } } })),
    [id],
  );
  const [handling, setHandling] = useState(false);
  const [assigning, setAssigning] = useState(false);

  const handle = async (resolution: string) => {
    try {
      await unwrap(
        client.POST("/ops/work-orders/{orderId}/exception/handled", {
          params: { path: { orderId: id } },
          body: { resolution },
        }),
      );
      message.success(t("wo.exceptionHandled"));
      setHandling(false);
      timeline.reload();
    } catch (e) {
      message.error(errorText(e));
    }
  };

  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {t("wo.title", { id })}
      </Typography.Title>
      <Card title={t("wo.summary")}>
        <Loadable state={appt}>
          {(d) => (
            <Descriptions column={2} size="small">
              <Descriptions.Item label={t("wo.status")}>
                <Tag>{d.appointment.status}</Tag>
              </Descriptions.Item>
              <Descriptions.Item label={t("wo.serviceType")}>{d.appointment.service_type}</Descriptions.Item>
              <Descriptions.Item label={t("wo.benefit")}>{d.appointment.benefit_name || d.appointment.benefit_code}</Descriptions.Item>
              <Descriptions.Item label={t("wo.provider")}>{d.appointment.provider_id ?? "—"}</Descriptions.Item>
              <Descriptions.Item label={t("wo.policy")}><Link to={`/policies/${encodeURIComponent(d.appointment.policy_number)}`}>
                  {d.appointment.policy_number}
                </Link>
              </Descriptions.Item>
              <Descriptions.Item label={t("wo.channel")}>{d.appointment.channel_id}</Descriptions.Item>
              <Descriptions.Item label={t("wo.region")}>
                {[d.appointment.address.province, d.appointment.address.city, d.appointment.address.district]
                  .filter(Boolean)
                  .join(" / ")}
              </Descriptions.Item>
              <Descriptions.Item label={t("wo.created")}>{formatTime(d.appointment.created_at, lang)}</Descriptions.Item>
            </Descriptions>
          )}
        </Loadable>
      </Card>
      <Card title={t("wo.timeline")}>
        <Loadable state={timeline}>
          {(tl) =>
            tl === null ? (
              <Typography.Text>{t("wo.noTimeline")}</Typography.Text>
            ) : (
              <Space orientation="vertical" style={{ width: "100%" }}>
                {tl.current ? (
                  <Descriptions size="small" column={3}>
                    <Descriptions.Item label={t("wo.currentNode")}>{tl.current.node}</Descriptions.Item>
                    <Descriptions.Item label={t("wo.dueAt")}>{formatTime(tl.current.due_at, lang)}</Descriptions.Item>
                    <Descriptions.Item label={t("wo.remaining")}>
                      {tl.current.overdue ? (
                        <Tone tone="bad">{t("wo.overdue")}</Tone>
                      ) : (
                        formatDuration(tl.current.remaining_seconds, lang)
                      )}
                    </Descriptions.Item>
                  </Descriptions>
                ) : null}
                <Timeline
                  items={tl.nodes.map((n) => ({
                    content: `${formatTime(n.at, lang)} · ${n.node} · ${n.provider_id}`,
                  }))}
                />
                <Typography.Title level={2} style={{ fontSize: 16 }}>
                  {t("wo.breaches")}
                </Typography.Title>
                <Table<Breach>
                  size="small"
                  rowKey={(b) => `${b.node}-${b.detected_at}`}
                  dataSource={tl.breaches}
                  pagination={false}
                  columns={[
                    { title: t("wo.node"), dataIndex: "node" },
                    { title: t("wo.limit"), dataIndex: "limit" },
                    { title: t("wo.dueAt"), dataIndex: "due_at", render: (s: string) => formatTime(s, lang) },
                    { title: t("wo.detected"), dataIndex: "detected_at", render: (s: string) => formatTime(s, lang) },
                  ]}
                />
                <Typography.Title level={2} style={{ fontSize: 16 }}>
                  {t("wo.exceptions")}
                </Typography.Title>
                <Table<Exc>
                  size="small"
                  rowKey="raised_at"
                  dataSource={tl.exceptions}
                  pagination={false}
                  columns={[
                    { title: t("wo.raised"), dataIndex: "raised_at", render: (s: string) => formatTime(s, lang) },
                    { title: t("wo.reason"), dataIndex: "reason" },
                    { title: t("wo.state"), dataIndex: "state", render: (s: string) => <Tag>{s}</Tag> },
                    { title: t("wo.resolution"), dataIndex: "resolution" },
                  ]}
                />
                {can("handleException") && tl.exceptions.some((e) => e.state === "open") ? (
                  <Button onClick={() => setHandling(true)}>{t("wo.handleException")}</Button>
                ) : null}
              </Space>
            )
          }
        </Loadable>
      </Card>
      <Card
        title={t("wo.dispatch")}
        extra={
          can("manualAssign") ? (
            <Button type="primary" onClick={() => setAssigning(true)}>
              {t("wo.assign")}
            </Button>
          ) : null
        }
      >
        <Loadable state={dispatch}>
          {(d) => (
            <Descriptions size="small" column={2}>
              <Descriptions.Item label={t("wo.state")}>
                <Tag>{d.state}</Tag>
              </Descriptions.Item>
              <Descriptions.Item label={t("wo.provider")}>{d.decision?.provider_id ?? "—"}</Descriptions.Item>
              <Descriptions.Item label={t("wo.step")}>{d.decision?.step ?? "—"}</Descriptions.Item>
              <Descriptions.Item label={t("wo.ruleVersion")}>{d.decision?.rule_version ?? "—"}</Descriptions.Item>
              <Descriptions.Item label={t("wo.why")} span={2}>
                {d.decision?.reason ?? "—"}
              </Descriptions.Item>
            </Descriptions>
          )}
        </Loadable>
      </Card>
      <ReasonModal
        open={handling}
        title={t("wo.handleException")}
        label={t("wo.resolution")}
        onCancel={() => setHandling(false)}
        onSubmit={handle}
      />
      <AssignModal
        id={id}
        open={assigning}
        onClose={(done) => {
          setAssigning(false);
          if (done) {
            dispatch.reload();
            appt.reload();
          }
        }}
      />
    </Space>
  );
}

export function AssignModal({ id, open, onClose }: { id: string; open: boolean; onClose: (done: boolean) => void }) {
  const { client } = useApp();
  const { t } = useI18n();
  const { message } = App.useApp();
  const [form] = Form.useForm<{ provider_id: string; reason: string }>();
  const [busy, setBusy] = useState(false);
  return (
    <Modal
      open={open}
      title={t("wo.assignTitle", { id })}
      okText={t("action.confirm")}
      cancelText={t("action.cancel")}
      confirmLoading={busy}
      destroyOnHidden
      onCancel={() => onClose(false)}
      onOk={async () => {
        const v = await form.validateFields().catch(() => null);
        if (!v) return; // the form shows what is wrong
        setBusy(true);
        try {
          await unwrap(
            client.POST("/ops/appointments/{appointmentId}/assign", {
              params: { path: { appointmentId: id } },
              body: { provider_id: v.provider_id.trim(), reason: v.reason },
            }),
          );
          message.success(t("wo.assigned"));
          form.resetFields();
          onClose(true);
        } catch (e) {
          message.error(errorText(e));
        } finally {
          setBusy(false);
        }
      }}
    >
      <Form form={form} layout="vertical">
        <Form.Item name="provider_id" label={t("wo.provider")} rules={[{ required: true, whitespace: true }]}>
          <Input />
        </Form.Item>
        <Form.Item name="reason" label={t("wo.reason")} rules={[{ required: true, whitespace: true }]}>
          <Input.TextArea rows={2} />
        </Form.Item>
      </Form>
    </Modal>
  );
}
