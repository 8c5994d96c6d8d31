import { App as AntApp, Button, ConfigProvider, Layout, Menu, Result, Segmented, Space, Spin, Tag, Typography } from "antd";
import enUS from "antd/es/locale/en_US";
import zhCN from "antd/es/locale/zh_CN";
import { lazy, Suspense, useMemo, useState, type ReactNode } from "react";
import { BrowserRouter, Link, Navigate, Route, Routes, useLocation } from "react-router-dom";
import { makeClient, setBearer } from "./api/client";
import { Ctx } from "./context";
import { useI18n, type Lang } from "./i18n";
import { allows, loadSession, signOut, type Session } from "./lib/auth";
import { apiBase, routerBase } from "./lib/base";
import { VIEWS } from "./lib/views";
import type { MsgKey } from "./messages";
import { SignIn } from "./SignIn";

const Overview = lazy(() => import("./views/Overview"));
const WorkOrders = lazy(() => import("./views/WorkOrders"));
const WorkOrder = lazy(() => import("./views/WorkOrder"));
const Dispatch = lazy(() => import("./views/Dispatch"));
const Partners = lazy(() => import("./views/Partners"));
const Partner = lazy(() => import("./views/Partner"));
const Catalogue = lazy(() => import("./views/Catalogue"));
const ChannelPage = lazy(() => import("./views/ChannelPage"));
const Claims = lazy(() => import("./views/Claims"));
const ClaimPage = lazy(() => import("./views/ClaimPage"));
const Finance = lazy(() => import("./views/Finance"));
const Audit = lazy(() => import("./views/Audit"));
const Money = lazy(() => import("./views/money"));
const Policies = lazy(() => import("./views/Policies"));
const PolicyPage = lazy(() => import("./views/PolicyPage"));
const ServiceRequests = lazy(() => import("./views/ServiceRequests"));
const ServiceRequestPage = lazy(() => import("./views/ServiceRequestPage"));
const Sla = lazy(() => import("./views/Sla"));
const RiskRules = lazy(() => import("./views/RiskRules"));
const BookingReviews = lazy(() => import("./views/BookingReviews"));

// Ant Design's defaults with text colours that keep WCAG AA contrast (4.5:1) on white.
const THEME = {
  token: {
    colorPrimary: "#0958d9",
    // Hover and active shades darker than the primary (the default ones are lighter): white text on a
    // hovered or pressed primary button keeps 4.5:1.
    colorPrimaryHover: "#003eb3",
    colorPrimaryActive: "#002c8c",
    colorLink: "#0958d9",
    colorError: "#cf1322",
    colorSuccess: "#237804",
    colorWarning: "#ad4e00",
    colorTextDescription: "#595959",
    colorTextTertiary: "#595959",
    colorTextPlaceholder: "#6b6b6b",
  },
};

export function Root() {
  const { lang, t } = useI18n();
  const [session, setSession] = useState<Session | null>(() =>
    loadSession(sessionStorage, location.hash, Date.now() / 1000),
  );
  if (location.hash.includes("token=")) history.replaceState(null, "", location.pathname + location.search);
  return (
    <ConfigProvider
      locale={lang === "en" ? enUS : zhCN}
      theme={THEME}
      renderEmpty={() => <div style={{ padding: 16, color: "#595959" }}>{t("state.empty")}</div>}
    >
      <AntApp>
        {session ? (
          <Shell session={session} onSignOut={() => (signOut(sessionStorage), setSession(null))} />
        ) : (
          <SignIn onSignedIn={setSession} />
        )}
      </AntApp>
    </ConfigProvider>
  );
}

function LangSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <Segmented<Lang>
      aria-label={t("shell.language")}
      value={lang}
      onChange={setLang}
      options={[
        { label: "中文", value: "zh-CN" },
        { label: "English", value: "en" },
      ]}
    />
  );
}

function Shell({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const { t } = useI18n();
  const base = routerBase(document.baseURI);
  const ctx = useMemo(() => {
    setBearer(session.token, onSignOut);
    const api = apiBase(document.baseURI);
    return { client: makeClient(api), apiBase: api, session };
  }, [session, onSignOut]);
  return (
    <Ctx.Provider value={ctx}>
      <BrowserRouter basename={base}>
        <Layout style={{ minHeight: "100vh" }}>
          <Layout.Sider width={200} theme="light" breakpoint="lg" collapsedWidth={0}>
            <div style={{ padding: 16 }}>
              <Typography.Text strong>{t("shell.title")}</Typography.Text>
            </div>
            <Nav session={session} />
          </Layout.Sider>
          <Layout>
            <Layout.Header
              style={{ background: "#fff", display: "flex", justifyContent: "flex-end", alignItems: "center" }}
            >
              <Space>
                <span>{session.sub}</span>
                {session.roles.map((r) => (
                  <Tag key={r}>{t(`role.${r}` as MsgKey)}</Tag>
                ))}
                <LangSwitch />
                <Button onClick={onSignOut}>{t("shell.signOut")}</Button>
              </Space>
            </Layout.Header>
            <Layout.Content style={{ padding: 24 }}>
              <main>
                <Suspense fallback={<Spin aria-label={t("state.loading")} />}>
                  <AppRoutes session={session} />
                </Suspense>
              </main>
            </Layout.Content>
          </Layout>
        </Layout>
      </BrowserRouter>
    </Ctx.Provider>
  );
}

function Nav({ session }: { session: Session }) {
  const { t } = useI18n();
  const here = useLocation().pathname;
  const visible = VIEWS.filter((v) => allows(session.roles, v.roles));
  const selected = visible.filter((v) => (v.path === "/" ? here === "/" : here.startsWith(v.path))).map((v) => v.key);
  return (
    <nav aria-label={t("shell.nav")}>
      <Menu
        mode="inline"
        selectedKeys={selected}
        items={visible.map((v) => ({ key: v.key, label: <Link to={v.path}>{t(`nav.${v.key}` as MsgKey)}</Link> }))}
      />
    </nav>
  );
}

function Guard({ session, view, children }: { session: Session; view: string; children: ReactNode }) {
  const { t } = useI18n();
  const def = VIEWS.find((v) => v.key === view)!;
  if (!allows(session.roles, def.roles)) return <Result status="403" title={t("state.forbidden")} />;
  return <>{children}</>;
}

function AppRoutes({ session }: { session: Session }) {
  const { t } = useI18n();
  const g = (view: string, el: ReactNode) => (
    <Guard session={session} view={view}>
      {el}
    </Guard>
  );
  const first = VIEWS.find((v) => allows(session.roles, v.roles));
  return (
    <Routes>
      <Route path="/" element={first?.key === "overview" ? <Overview /> : <Navigate to={first?.path ?? "/audit"} />} />
      <Route path="/work-orders" element={g("workOrders", <WorkOrders />)} />
      <Route path="/work-orders/:id" element={g("workOrders", <WorkOrder />)} />
      <Route path="/dispatch" element={g("dispatch", <Dispatch />)} />
      <Route path="/partners" element={g("partners", <Partners />)} />
      <Route path="/partners/:id" element={g("partners", <Partner />)} />
      <Route path="/catalogue" element={g("catalogue", <Catalogue />)} />
      <Route path="/catalogue/channels/:id" element={g("catalogue", <ChannelPage />)} />
      <Route path="/claims" element={g("claims", <Claims />)} />
      <Route path="/claims/:number" element={g("claims", <ClaimPage />)} />
      <Route path="/finance" element={g("finance", <Finance />)} />
      <Route path="/money/*" element={g("money", <Money />)} />
      <Route path="/audit" element={g("audit", <Audit />)} />
      <Route path="/policies" element={g("policies", <Policies />)} />
      <Route path="/policies/:number" element={g("policies", <PolicyPage />)} />
      <Route path="/service-requests" element={g("serviceRequests", <ServiceRequests />)} />
      <Route path="/service-requests/:id" element={g("serviceRequests", <ServiceRequestPage />)} />
      <Route path="/sla" element={g("sla", <Sla />)} />
      <Route path="/risk" element={g("risk", <RiskRules />)} />
      <Route path="/booking-reviews" element={g("bookingReviews", <BookingReviews />)} />
      <Route path="*" element={<Result status="404" title={t("state.notFound")} />} />
    </Routes>
  );
}
