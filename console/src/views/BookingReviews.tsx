import { App, Button, Card, Space, Table, Tag, Typography } from "antd";
import { useState } from "react";
import { unwrap } from "../api/client";
import type { components } from "../api/schema";
import { errorText, Loadable, useLoad } from "../components/Async";
import { ReasonModal } from "../components/ReasonModal";
import { useApp, useCan } from "../context";
import { useI18n } from "../i18n";
import { formatTime } from "../lib/format";
import { formatMoney } from "../lib/money";
import { FiredTags } from "../components/FiredTags";

type Entry = components["schemas"]["BookingReviewEntry"];
type Outcome = "approve" | "reject";

/** Bookings risk control held: the rules that fired, and approve (dispatch) or reject (cancel) with a note. */
export default function BookingReviews() {
  const { client } = useApp();
  const { t, lang } = useI18n();
  const can = useCan();
  const { message } = App.useApp();
  const queue = useLoad(() => unwrap(client.GET("/ops/booking-reviews", { params: { query: { limit: 100 } } })), []);
  const [deciding, setDeciding] = useState<{ id: string; outcome: Outcome } | null>(null);
  // The dialog keeps its title while it closes (a dialog needs an accessible name until it is gone).
  const [shown, setShown] = useState<{ id: string; outcome: Outcome }>({ id: "", outcome: "approve" });
  const ask = (d: { id: string; outcome: Outcome }) => {
    setShown(d);
    setDeciding(d);
  };

  const decide = async (note: string) => {
    if (!deciding) return;
    try {
      await unwrap(
        client.POST("/ops/booking-reviews/{appointmentId}/decision", {
          params: { path: { appointmentId: deciding.id } },
          body: { outcome: deciding.outcome, note },
        }),
      );
      message.success(t(deciding.outcome === "approve" ? "br.approved" : "br.rejected"));
      setDeciding(null);
      queue.reload();
    } catch (e) {
      message.error(errorText(e));
    }
  };

  return (
    <Space orientation="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>
        {t("nav.bookingReviews")}
      </Typography.Title>
      <Card title={t("br.queue")} extra={<Button onClick={queue.reload}>{t("action.refresh")}</Button>}>
        <Loadable state={queue} empty={(d) => d.items.length === 0}>
          {(d) => (
            <Table<Entry>
              rowKey="appointment_id"
              dataSource={d.items}
              pagination={false}
              scroll={{ x: true }}
              columns={[
                { title: t("br.appointment"), dataIndex: "appointment_id" },
                { title: t("br.policy"), dataIndex: "policy_number" },
                { title: t("br.channel"), dataIndex: "channel_id" },
                { title: t("br.benefit"), render: (_, e) => `${e.benefit_code} / ${e.service_type}` },
                { title: t("br.amount"), render: (_, e) => (e.amount ? formatMoney(e.amount, "CNY", lang) : "—") },
                { title: t("br.reason"), render: (_, e) => e.review.reason },
                { title: t("br.rules"), render: (_, e) => <FiredTags fired={e.review.decision.fired ?? []} /> },
                { title: t("br.since"), render: (_, e) => formatTime(e.review.since, lang) },
                {
                  title: t("br.actions"),
                  render: (_, e) =>
                    can("decideBooking") ? (
                      <Space>
                        <Button
                          type="primary"
                          autoInsertSpace={false}
                          aria-label={`${t("action.approve")} ${e.appointment_id}`}
                          onClick={() => ask({ id: e.appointment_id, outcome: "approve" })}
                        >
                          {t("action.approve")}
                        </Button>
                        <Button
                          danger
                          autoInsertSpace={false}
                          aria-label={`${t("action.reject")} ${e.appointment_id}`}
                          onClick={() => ask({ id: e.appointment_id, outcome: "reject" })}
                        >
                          {t("action.reject")}
                        </Button>
                      </Space>
                    ) : (
                      <Tag>{t("state.forbidden")}</Tag>
                    ),
                },
              ]}
            />
          )}
        </Loadable>
      </Card>
      <ReasonModal
        open={deciding !== null}
        title={t(shown.outcome === "approve" ? "br.approveTitle" : "br.rejectTitle", { id: shown.id })}
        label={t("br.note")}
        onCancel={() => setDeciding(null)}
        onSubmit={decide}
      />
    </Space>
  );
}
