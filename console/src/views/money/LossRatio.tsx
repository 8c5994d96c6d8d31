import { App, Button, Card, Form, Input, Space, Table, Typography } from "antd";
import { useMemo, useState } from "react";
import { unwrap } from "../../api/client";
import { errorText, Loadable, useLoad } from "../../components/Async";
import { Chart } from "../../components/Chart";
import { useApp } from "../../context";
import { useI18n } from "../../i18n";
import { formatMoney } from "../../lib/money";
import { lastMonth, saveFile } from "./common";

// One row of the loss-ratio report (the export's JSON content).
interface Row {
  product_code: string;
  channel_id: string;
  month: string;
  premium: string;
  claims_paid: string;
  loss_ratio: string | null;
}
interface Range {
  start: string;
  end: string;
}

/** Claims paid / premium by product, channel and month: a table, a chart (ECharts, loaded lazily), downloads. */
export default function LossRatio() {
  const { client } = useApp();
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const [range, setRange] = useState<Range>(() => {
    const end = lastMonth(new Date(new Date().getFullYear(), new Date().getMonth() + 1, 1));
    return { start: `${end.slice(0, 4)}-01`, end };
  });
  const rows = useLoad(async () => {
    const f = await unwrap(
      client.GET("/ops/exports/{report}/{format}", {
        params: { path: { report: "loss-ratio", format: "json" }, query: { start: range.start, end: range.end } },
      }),
    );
    return JSON.parse(f.content) as Row[];
  }, [range.start, range.end]);
  const option = useMemo(() => {
    if (!rows.data || rows.data.length === 0) return null;
    const months = [...new Set(rows.data.map((r) => r.month))].sort();
    const keys = [...new Set(rows.data.map((r) => `${r.product_code}/${r.channel_id}`))].sort();
    return {
      tooltip: { trigger: "axis" },
      legend: {},
      xAxis: { type: "category", data: months },
      yAxis: { type: "value", name: t("money.ratio") },
      series: keys.map((k) => ({
        name: k,
        type: "bar",
        data: months.map((m) => {
          const r = rows.data!.find((x) => `${x.product_code}/${x.channel_id}` === k && x.month === m);
          return r?.loss_ratio != null ? Number(r.loss_ratio) : null;
        }),
      })),
    };
  }, [rows.data, t]);
  const download = async (format: "csv" | "xlsx") => {
    try {
      const f = await unwrap(
        client.GET("/ops/exports/{report}/{format}", {
          params: { path: { report: "loss-ratio", format }, query: { start: range.start, end: range.end } },
        }),
      );
      saveFile(`${f.name}.${format}`, f.content, f.encoding, f.content_type);
    } catch (e) {
      message.error(errorText(e));
    }
  };
  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {t("money.lossRatio")}
      </Typography.Title>
      <Card>
        <Form layout="inline" initialValues={range} onFinish={(v: Range) => setRange(v)}>
          <Form.Item name="start" label={t("money.start")} rules={[{ required: true, pattern: /^\d{4}-\d{2}$/ }]}>
            <Input style={{ width: 110 }} placeholder="YYYY-MM" />
          </Form.Item>
          <Form.Item name="end" label={t("money.end")} rules={[{ required: true, pattern: /^\d{4}-\d{2}$/ }]}>
            <Input style={{ width: 110 }} placeholder="YYYY-MM" />
          </Form.Item>
          <Space>
            <Button type="primary" htmlType="submit">
              {t("money.show")}
            </Button>
            <Button onClick={() => download("csv")}>{t("money.csv")}</Button>
            <Button onClick={() => download("xlsx")}>{t("money.xlsx")}</Button>
          </Space>
        </Form>
      </Card>
      <Card title={t("money.lossRatio")}>
        <Loadable state={rows} empty={(d) => d.length === 0}>
          {(d) => (
            <Space orientation="vertical" style={{ width: "100%" }}>
              {option ? <Chart option={option} label={t("money.chart")} /> : null}
              <Table<Row>
                size="small"
                rowKey={(r) => `${r.product_code}|${r.channel_id}|${r.month}`}
                dataSource={d}
                pagination={{ pageSize: 20 }}
                columns={[
                  { title: t("money.month"), dataIndex: "month" },
                  { title: t("money.product"), dataIndex: "product_code" },
                  { title: t("money.channel"), dataIndex: "channel_id" },
                  { title: t("money.premium"), render: (_, r) => formatMoney(r.premium, "CNY", lang) },
                  { title: t("money.claimsPaid"), render: (_, r) => formatMoney(r.claims_paid, "CNY", lang) },
                  {
                    title: t("money.ratio"),
                    render: (_, r) => (r.loss_ratio == null ? "—" : `${(Number(r.loss_ratio) * 100).toFixed(2)}%`),
                  },
                ]}
              />
            </Space>
          )}
        </Loadable>
      </Card>
    </Space>
  );
}
