import { Alert, Button, Card, Form, Input, Typography } from "antd";
import { useEffect, useState } from "react";
import { useI18n } from "./i18n";
import { loadSession, type Session } from "./lib/auth";

interface ConsoleConfig {
  cognito?: { domain: string; clientId: string };
}

/** No session: the hosted sign-in page on AWS, or a token (make run prints one link per role). */
export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const { t } = useI18n();
  const [config, setConfig] = useState<ConsoleConfig | null>(null);
  const [bad, setBad] = useState(false);
  useEffect(() => {
    fetch("config.json")
      .then((r) => (r.ok ? r.json() : {}))
      .then((c: ConsoleConfig) => setConfig(c))
      .catch(() => setConfig({}));
  }, []);
  const hosted = config?.cognito
    ? `https://${config.cognito.domain}/oauth2/authorize?response_type=token&scope=openid&client_id=${encodeURIComponent(
        config.cognito.clientId,
      )}&redirect_uri=${encodeURIComponent(new URL(".", document.baseURI).href)}`
    : null;
  return (
    <main style={{ maxWidth: 520, margin: "10vh auto" }}>
      <Card>
        <Typography.Title level={1} style={{ fontSize: 24 }}>
          {t("signIn.title")}
        </Typography.Title>
        {hosted ? (
          <Button type="primary" href={hosted} block>
            {t("signIn.hosted")}
          </Button>
        ) : (
          <Typography.Paragraph>{t("signIn.localHint")}</Typography.Paragraph>
        )}
        <Form
          layout="vertical"
          style={{ marginTop: 16 }}
          onFinish={(v: { token: string }) => {
            const s = loadSession(sessionStorage, `#token=${v.token.trim()}`, Date.now() / 1000);
            setBad(!s);
            if (s) onSignedIn(s);
          }}
        >
          <Form.Item name="token" label={t("signIn.token")} rules={[{ required: true }]}>
            <Input.TextArea rows={3} />
          </Form.Item>
          {bad ? <Alert type="error" showIcon title={t("signIn.badToken")} /> : null}
          <Button htmlType="submit" style={{ marginTop: 8 }}>
            {t("signIn.submit")}
          </Button>
        </Form>
      </Card>
    </main>
  );
}
