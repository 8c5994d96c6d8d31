import { App, Button, Card, Form, Input, Space, Table, Typography } from "antd";
import { useState } from "react";
import { unwrap } from "../../api/client";
import type { components } from "../../api/schema";
import { errorText, Loadable, useLoad } from "../../components/Async";
import { useApp } from "../../context";
import { useI18n } from "../../i18n";
import { dayOf, formatTime } from "../../lib/format";
import { formatMoney } from "../../lib/money";

type Version = components["schemas"]["FeeVersion"];
interface Publish {
  effective_from: string;
  reason: string;
  rates: { region: string; fee: string }[];
}

/** Provider fee schedules: the current version of each service type, one type's versions, a new version. */
export default function FeeSchedules() {
  const { client } = useApp();
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const [serviceType, setServiceType] = useState<string>("");
  const [busy, setBusy] = useState(false);
  const [form] = Form.useForm<Publish>();
  const list = useLoad(
    () =>
      unwrap(
        client.GET("/ops/money/{view}", {
          params: { path: { view: "fee-schedules" }, query: serviceType ? { service_type: serviceType } : {} },
        }),
      ),
    [serviceType],
  );
  const publish = async (v: Publish) => {
    setBusy(true);
    try {
      await unwrap(
        client.PUT("/ops/fee-schedules/{serviceType}", {
          params: { path: { serviceType } },
          body: {
            effective_from: v.effective_from,
            reason: v.reason.trim(),
            rates: v.rates.map((r) => ({ region: r.region.trim(), fee: r.fee.trim() })),
          },
        }),
      );
      message.success(t("state.done"));
      form.resetFields();
      list.reload();
    } catch (e) {
      message.error(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {t("money.fees")}
      </Typography.Title>
      <Card>
        <Form layout="inline" onFinish={(v: { st?: string }) => setServiceType((v.st ?? "").trim())}>
          <Form.Item name="st" label={t("money.serviceType")} rules={[{ pattern: /^[a-z][a-z0-9_]{0,39}$/ }]}>
            <Input style={{ width: 220 }} placeholder="medicine_delivery" />
          </Form.Item>
          <Button htmlType="submit">{t("money.show")}</Button>
        </Form>
      </Card>
      <Card
        title={serviceType ? `${t("money.versions")}: ${serviceType}` : t("money.latest")}
        extra={<Button onClick={list.reload}>{t("action.refresh")}</Button>}
      >
        <Loadable state={list} empty={(d) => (d.fee_versions ?? []).length === 0}>
          {(d) => (
            <Table<Version>
              size="small"
              rowKey={(v) => `${v.service_type}|${v.version}`}
              dataSource={d.fee_versions ?? []}
              pagination={{ pageSize: 20 }}
              columns={[
                {
                  title: t("money.serviceType"),
                  render: (_, v) => (
                    <Button type="link" onClick={() => setServiceType(v.service_type)}>
                      {v.service_type}
                    </Button>
                  ),
                },
                { title: t("money.version"), dataIndex: "version" },
                { title: t("money.effectiveFrom"), dataIndex: "effective_from" },
                {
                  title: t("money.rates"),
                  render: (_, v) => v.rates.map((r) => `${r.region}: ${formatMoney(r.fee, "CNY", lang)}`).join("; "),
                },
                { title: t("money.createdBy"), render: (_, v) => `${v.created_by} ${formatTime(v.created_at, lang)}` },
                { title: t("money.reason"), dataIndex: "reason" },
              ]}
            />
          )}
        </Loadable>
      </Card>
      {serviceType ? (
        <Card title={`${t("money.publish")}: ${serviceType}`}>
          <Form
            form={form}
            layout="vertical"
            initialValues={{ effective_from: dayOf(new Date()), rates: [{ region: "*", fee: "" }] }}
            onFinish={publish}
            style={{ maxWidth: 520 }}
          >
            <Form.Item
              name="effective_from"
              label={t("money.effectiveFrom")}
              rules={[{ required: true, pattern: /^\d{4}-\d{2}-\d{2}$/ }]}
            >
              <Input placeholder="YYYY-MM-DD" />
            </Form.Item>
            <Form.List name="rates">
              {(fields, { add, remove }) => (
                <>
                  {fields.map((f) => (
                    <Space key={f.key} align="baseline">
                      <Form.Item
                        name={[f.name, "region"]}
                        label={t("money.region")}
                        rules={[{ required: true, pattern: /^(\*|\d{6})$/ }]}
                      >
                        <Input style={{ width: 140 }} />
                      </Form.Item>
                      <Form.Item
                        name={[f.name, "fee"]}
                        label={t("money.fee")}
                        rules={[{ required: true, pattern: /^\d+(\.\d{1,2})?$/ }]}
                      >
                        <Input style={{ width: 120 }} />
                      </Form.Item>
                      {fields.length > 1 ? <Button onClick={() => remove(f.name)}>−</Button> : null}
                    </Space>
                  ))}
                  <Button onClick={() => add({ region: "", fee: "" })}>+ {t("money.region")}</Button>
                </>
              )}
            </Form.List>
            <Form.Item name="reason" label={t("money.reason")} rules={[{ required: true, whitespace: true, min: 2 }]}>
              <Input />
            </Form.Item>
            <Button type="primary" htmlType="submit" loading={busy}>
              {t("money.publish")}
            </Button>
          </Form>
        </Card>
      ) : null}
    </Space>
  );
}
