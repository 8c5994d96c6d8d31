import { Form, Input, Modal } from "antd";
import { useState } from "react";
import { useI18n } from "../i18n";

/** Asks for a reason (or note) before an action; `required` when the API needs one. */
export function ReasonModal({
  open,
  title,
  label,
  required = true,
  onCancel,
  onSubmit,
}: {
  open: boolean;
  title: string;
  label: string;
  required?: boolean;
  onCancel: () => void;
  onSubmit: (text: string) => Promise<void>;
}) {
  const { t } = useI18n();
  const [form] = Form.useForm<{ text: string }>();
  const [busy, setBusy] = useState(false);
  return (
    <Modal
      open={open}
      title={title}
      okText={t("action.confirm")}
      cancelText={t("action.cancel")}
      confirmLoading={busy}
      destroyOnHidden
      onCancel={onCancel}
      onOk={async () => {
        const v = await form.validateFields().catch(() => null);
        if (!v) return; // the form shows what is wrong
        setBusy(true);
        try {
          await onSubmit(v.text ?? "");
          form.resetFields();
        } finally {
          setBusy(false);
        }
      }}
    >
      <Form form={form} layout="vertical">
        <Form.Item name="text" label={label} rules={required ? [{ required: true, whitespace: true }] : []}>
          <Input.TextArea rows={3} />
        </Form.Item>
      </Form>
    </Modal>
  );
}
