import { Space, Tag, Tooltip } from "antd";
import type { components } from "../api/schema";
import { useI18n } from "../i18n";
import type { MsgKey } from "../messages";

type Fired = components["schemas"]["FiredRule"];

/** The rules a risk decision fired: id and action, shadow ones marked (they changed nothing). */
export function FiredTags({ fired }: { fired: Fired[] }) {
  const { t } = useI18n();
  if (fired.length === 0) return <>—</>;
  return (
    <Space size={4} wrap>
      {fired.map((f) => (
        <Tooltip key={f.rule} title={f.detail}>
          <Tag>
            {f.rule} · {t(`risk.action.${f.action}` as MsgKey)}
            {f.shadow ? ` (${t("risk.shadow")})` : ""}
          </Tag>
        </Tooltip>
      ))}
    </Space>
  );
}
