import { Tag } from "antd";
import type { ReactNode } from "react";

// Status tags whose text keeps a 4.5:1 contrast with their background (Ant Design's presets do not).
const TONES = {
  good: { color: "#135200", background: "#f6ffed", borderColor: "#95de64" },
  bad: { color: "#a8071a", background: "#fff1f0", borderColor: "#ffa39e" },
  warn: { color: "#873800", background: "#fff7e6", borderColor: "#ffc069" },
} as const;

export function Tone({ tone, children, ...rest }: { tone: keyof typeof TONES; children: ReactNode } & Record<string, unknown>) {
  return (
    <Tag style={TONES[tone]} {...rest}>
      {children}
    </Tag>
  );
}
