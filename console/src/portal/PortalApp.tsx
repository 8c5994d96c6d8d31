import { App as AntApp, Button, Card, ConfigProvider, Layout, Menu, Segmented, Space, Typography } from "antd";
import enUS from "antd/es/locale/en_US";
import zhCN from "antd/es/locale/zh_CN";
import { lazy, Suspense, useEffect, useMemo, useState } from "react";
import { BrowserRouter, Link, Navigate, Route, Routes, useLocation } from "react-router-dom";
import { makeClient, setBearer, type Client } from "../api/client";
import { useI18n, type Lang } from "../i18n";
import { apiBase, routerBase } from "../lib/base";
import { usePortalText } from "./i18n";
import type { PortalKey } from "./messages";
import { loadPortalSession, signOutPortal, type PortalSession } from "./session";
import { PortalCtx } from "./context";

const WorkOrders = lazy(() => import("./WorkOrders"));
const Performance = lazy(() => import("./Performance"));
const Account = lazy(() => import("./Account"));
const Insurer = lazy(() => import("./Insurer"));

// The console's colours: text keeps WCAG AA contrast (4.5:1) on white, placeholders included.
const THEME = {
  token: {
    colorPrimary: "#0958d9",
    colorLink: "#0958d9",
    colorError: "#cf1322",
    colorSuccess: "#237804",
    colorWarning: "#ad4e00",
    colorTextDescription: "#595959",
    colorTextTertiary: "#595959",
    colorTextPlaceholder: "#6b6b6b",
  },
};

/** The provider portal: its own sign-in, layout and pages, in the console's build (…/console/portal). */
export default function PortalRoot() {
  const { lang } = useI18n();
  const [session, setSession] = useState<PortalSession | null>(() =>
    loadPortalSession(sessionStorage, location.hash, Date.now() / 1000),
  );
  useEffect(() => {
    if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  }, []);
  return (
    <ConfigProvider locale={lang === "en" ? enUS : zhCN} theme={THEME}>
      <AntApp>
        {session ? (
          <Shell session={session} onSignOut={() => (signOutPortal(sessionStorage), setSession(null))} />
        ) : (
          <PortalSignIn />
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

function PortalSignIn() {
  const tp = usePortalText();
  const [hosted, setHosted] = useState<string | null>(null);
  useEffect(() => {
    fetch(new URL("config.json", document.baseURI))
      .then((r) => (r.ok ? r.json() : {}))
      .then((c: { cognito?: { domain: string; clientId: string } }) => {
        if (!c.cognito) return;
        const back = encodeURIComponent(new URL(".", document.baseURI).href);
        setHosted(
          `https://${c.cognito.domain}/oauth2/authorize?response_type=token&scope=openid&state=portal` +
            `&client_id=${encodeURIComponent(c.cognito.clientId)}&redirect_uri=${back}`,
        );
      })
      .catch(() => undefined);
  }, []);
  return (
    <main style={{ maxWidth: 520, margin: "10vh auto" }}>
      <Card>
        <Typography.Title level={1} style={{ fontSize: 24 }}>
          {tp("portal.signIn.title")}
        </Typography.Title>
        {hosted ? (
          <Button type="primary" href={hosted} block>
            {tp("portal.signIn.hosted")}
          </Button>
        ) : (
          <Typography.Paragraph>{tp("portal.signIn.hint")}</Typography.Paragraph>
        )}
        <LangSwitch />
      </Card>
    </main>
  );
}

const PROVIDER_PAGES: [string, PortalKey][] = [
  ["work-orders", "portal.nav.workOrders"],
  ["timeliness", "portal.nav.timeliness"],
  ["share", "portal.nav.share"],
  ["feedback", "portal.nav.feedback"],
  ["assessment", "portal.nav.assessment"],
  ["account", "portal.nav.account"],
];
const INSURER_PAGES: [string, PortalKey][] = [
  ["providers", "portal.nav.providers"],
  ["products", "portal.nav.products"],
  ["claims", "portal.nav.claims"],
  ["account", "portal.nav.account"],
];

function Shell({ session, onSignOut }: { session: PortalSession; onSignOut: () => void }) {
  const base = apiBase(document.baseURI);
  const client: Client = useMemo(() => makeClient(base), [base]);
  setBearer(session.token, onSignOut);
  const value = useMemo(() => ({ client, session }), [client, session]);
  return (
    <PortalCtx.Provider value={value}>
      <BrowserRouter basename={`${routerBase(document.baseURI)}/portal`}>
        <Frame session={session} onSignOut={onSignOut} />
      </BrowserRouter>
    </PortalCtx.Provider>
  );
}

function Frame({ session, onSignOut }: { session: PortalSession; onSignOut: () => void }) {
  const tp = usePortalText();
  const loc = useLocation();
  const pages = session.kind === "insurer" ? INSURER_PAGES : PROVIDER_PAGES;
  const current = pages.find(([p]) => loc.pathname.startsWith(`/${p}`))?.[0] ?? pages[0][0];
  return (
    <Layout style={{ minHeight: "100vh" }}>
      <Layout.Header style={{ display: "flex", alignItems: "center", gap: 16, background: "#fff" }}>
        <Typography.Text strong style={{ fontSize: 18 }}>
          {tp(session.kind === "insurer" ? "portal.insurerTitle" : "portal.title")}
        </Typography.Text>
        <Typography.Text data-testid="portal-partner">{session.partnerId}</Typography.Text>
        <Space style={{ marginLeft: "auto" }}>
          <LangSwitch />
          <Button onClick={onSignOut}>{tp("portal.signOut")}</Button>
        </Space>
      </Layout.Header>
      <Layout>
        <Layout.Sider width={200} theme="light">
          <nav aria-label={tp("portal.title")}>
            <Menu
              mode="inline"
              selectedKeys={[current]}
              items={pages.map(([p, label]) => ({ key: p, label: <Link to={`/${p}`}>{tp(label)}</Link> }))}
            />
          </nav>
        </Layout.Sider>
        <Layout.Content style={{ padding: 24 }}>
          <main>
            <Suspense fallback={<div role="status">…</div>}>
              <Routes>
                <Route path="/" element={<Navigate to={`/${pages[0][0]}`} replace />} />
                <Route path="/work-orders" element={<WorkOrders />} />
                <Route path="/timeliness" element={<Performance view="timeliness" />} />
                <Route path="/share" element={<Performance view="share" />} />
                <Route path="/feedback" element={<Performance view="feedback" />} />
                <Route path="/assessment" element={<Performance view="assessment" />} />
                <Route path="/account" element={<Account />} />
                <Route path="/providers" element={<Insurer view="providers" />} />
                <Route path="/products" element={<Insurer view="products" />} />
                <Route path="/claims" element={<Insurer view="claims" />} />
                <Route path="*" element={<Navigate to={`/${pages[0][0]}`} replace />} />
              </Routes>
            </Suspense>
          </main>
        </Layout.Content>
      </Layout>
    </Layout>
  );
}
