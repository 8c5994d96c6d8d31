import { Menu, Spin } from "antd";
import { lazy, Suspense } from "react";
import { Link, Navigate, Route, Routes, useLocation } from "react-router-dom";
import { useI18n } from "../../i18n";
import { MONEY_SCREENS } from "./screens";

const MoneyRequests = lazy(() => import("./MoneyRequests"));
const Settlements = lazy(() => import("./Settlements"));
const FeeSchedules = lazy(() => import("./FeeSchedules"));
const Reconciliation = lazy(() => import("./Reconciliation"));
const LossRatio = lazy(() => import("./LossRatio"));

/** The money screens under /money, with a bar to move between them. */
export default function Money() {
  const { t } = useI18n();
  const here = useLocation().pathname.split("/money/")[1]?.split("/")[0] ?? "";
  return (
    <>
      <nav aria-label={t("money.screens")}>
        <Menu
          mode="horizontal"
          selectedKeys={[here]}
          style={{ marginBottom: 16 }}
          items={MONEY_SCREENS.map((s) => ({ key: s.path, label: <Link to={`/money/${s.path}`}>{t(s.label)}</Link> }))}
        />
      </nav>
      <Suspense fallback={<Spin aria-label={t("state.loading")} />}>
        <Routes>
          <Route index element={<Navigate to="requests" replace />} />
          <Route path="requests" element={<MoneyRequests />} />
          <Route path="settlements" element={<Settlements />} />
          <Route path="fees" element={<FeeSchedules />} />
          <Route path="reconciliation" element={<Reconciliation />} />
          <Route path="loss-ratio" element={<LossRatio />} />
        </Routes>
      </Suspense>
    </>
  );
}
