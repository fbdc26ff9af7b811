// `hearth ctl analyze` views, from a hand-made timeline.
import { describe, expect, test } from "bun:test";
import { blame, criticalChain, dot, plot, type Timeline } from "../../src/control/analyze.ts";

const T0 = 1_000_000;
const unit = (name: string, start: number, ready: number, after: string[] = [], kind: "service" | "target" = "service") =>
  ({ name, kind, active: "active", activatingAt: T0 + start, activeAt: T0 + ready, after, requires: [], wants: [] });

const timeline: Timeline = {
  startedAt: T0, kernelMs: 1200, finishedAt: T0 + 420, target: "multi-user", phases: null,
  units: [
    unit("db", 10, 310),
    unit("web", 310, 330, ["db"]),
    unit("cron", 10, 12),
    unit("multi-user", 330, 420, ["web", "cron"], "target"),
  ],
};

describe("analyze", () => {
  test("blame lists services by time to ready, longest first", () => {
    expect(blame(timeline).split("\n")).toEqual(["300ms db", " 20ms web", "  2ms cron"]);
  });

  test("critical-chain follows the latest-ready unit each step", () => {
    expect(criticalChain(timeline).map((c) => c.name)).toEqual(["multi-user", "web", "db"]);
  });

  test("plot is an SVG with a bar per unit and the kernel part", () => {
    const svg = plot(timeline);
    expect(svg.startsWith("<?xml")).toBe(true);
    for (const name of ["db", "web", "cron", "multi-user"]) expect(svg).toContain(`data-unit="${name}"`);
    expect(svg).toContain("kernel (1.200s)");
    expect(svg.trim().endsWith("</svg>")).toBe(true);
  });

  test("plot tells the boot's time and leaves out units first started after it", () => {
    const later: Timeline = { ...timeline, units: [...timeline.units, unit("manual", 5000, 5100)] };
    const svg = plot(later);
    expect(svg).toContain("Startup: 1.200s (kernel) + 420ms (userspace)");
    expect(svg).not.toContain(`data-unit="manual"`);
  });

  test("dot draws ordering and requirement edges", () => {
    expect(dot(timeline)).toContain(`"web" -> "db" [color=grey66, arrowhead=empty];`);
  });
});
