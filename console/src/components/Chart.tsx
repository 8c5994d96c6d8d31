import { useEffect, useRef } from "react";

// ECharts is imported only here, dynamically (./echarts): the views that chart load it, no other view does.
export type ChartOption = Record<string, unknown>;

export function Chart({ option, label, height = 280 }: { option: ChartOption; label: string; height?: number }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    let disposed = false;
    let chart: { setOption: (o: ChartOption) => void; dispose: () => void; resize: () => void } | null = null;
    const onResize = () => chart?.resize();
    import("./echarts").then((core) => {
      if (disposed || !el.current) return;
      chart = core.init(el.current);
      chart.setOption({ aria: { enabled: true }, ...option });
      window.addEventListener("resize", onResize);
    });
    return () => {
      disposed = true;
      window.removeEventListener("resize", onResize);
      chart?.dispose();
    };
  }, [option]);
  return <div ref={el} role="img" aria-label={label} style={{ width: "100%", height }} />;
}
