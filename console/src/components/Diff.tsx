import { Table, Tag } from "antd";
import { useI18n } from "../i18n";

export interface FieldChange {
  field: string;
  change: "added" | "removed" | "changed";
  before?: unknown;
  after?: unknown;
}

const show = (v: unknown) => (v === undefined || v === null ? "—" : typeof v === "string" ? v : JSON.stringify(v, null, 1));

/** A field diff side by side: field, before, after. */
export function DiffTable({ changes }: { changes: FieldChange[] }) {
  const { t } = useI18n();
  return (
    <Table<FieldChange>
      size="small"
      rowKey="field"
      pagination={false}
      dataSource={changes}
      columns={[
        { title: t("diff.field"), dataIndex: "field" },
        { title: t("diff.change"), dataIndex: "change", render: (c: string) => <Tag>{c}</Tag> },
        { title: t("diff.before"), render: (_, c) => <pre style={{ margin: 0, whiteSpace: "pre-wrap" }}>{show(c.before)}</pre> },
        { title: t("diff.after"), render: (_, c) => <pre style={{ margin: 0, whiteSpace: "pre-wrap" }}>{show(c.after)}</pre> },
      ]}
    />
  );
}
