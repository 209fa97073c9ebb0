/**
 * AKS maintenance windows (`managedClusters/maintenanceConfigurations`) as kmsflow reads them: whether a
 * cluster may be changed now, and if not, from when. A cluster with no configuration may be changed any time.
 * Two shapes exist: `maintenanceWindow` (daily, weekly, absolute or relative monthly schedules with a start time,
 * a duration and a UTC offset) and the older `timeInWeek` (weekdays and UTC hour slots). Times are computed in
 * UTC from the configuration's offset.
 */

/** The configurations a KMS change honours: AKS's planned maintenance and its auto-upgrade schedule. */
export const HONOURED_CONFIGURATIONS = ['default', 'aksManagedAutoUpgradeSchedule'] as const;

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const WEEK_INDEX = ['First', 'Second', 'Third', 'Fourth', 'Last'];
const DAY_MS = 86_400_000;

/** The parts of a maintenance configuration kmsflow reads (the ARM shape, dates as ISO strings or Dates). */
export interface MaintenanceConfigurationShape {
  name?: string;
  timeInWeek?: { day?: string; hourSlots?: number[] }[];
  notAllowedTime?: { start?: Date | string; end?: Date | string }[];
  maintenanceWindow?: {
    schedule: {
      daily?: { intervalDays: number };
      weekly?: { intervalWeeks: number; dayOfWeek: string };
      absoluteMonthly?: { intervalMonths: number; dayOfMonth: number };
      relativeMonthly?: { intervalMonths: number; weekIndex: string; dayOfWeek: string };
    };
    durationHours: number;
    utcOffset?: string;
    startDate?: Date | string;
    startTime: string;
    notAllowedDates?: { start: Date | string; end: Date | string }[];
  };
}

export interface WindowState {
  /** True when a change may start now: inside a window, or no window configured. */
  open: boolean;
  /** The configurations that decided it. */
  configurations: string[];
  /** When the window closes (open) or next opens (closed); absent when none is found within a year. */
  closesAt?: string;
  opensAt?: string;
}

interface Interval {
  start: number;
  end: number;
}

/** Whether `now` is inside any of the configurations' windows, and the next opening when not. */
export function windowState(configs: readonly MaintenanceConfigurationShape[], now: Date): WindowState {
  const honoured = configs.filter((c) =>
    (HONOURED_CONFIGURATIONS as readonly string[]).includes(c.name ?? ''),
  );
  const names = honoured.map((c) => c.name!);
  if (honoured.length === 0) return { open: true, configurations: [] };
  const t = now.getTime();
  const intervals = honoured
    .flatMap((c) => intervalsOf(c, t - 2 * DAY_MS, t + 370 * DAY_MS))
    .sort((a, b) => a.start - b.start);
  const current = intervals.find((i) => i.start <= t && t < i.end);
  if (current) return { open: true, configurations: names, closesAt: new Date(current.end).toISOString() };
  const next = intervals.find((i) => i.start > t);
  return {
    open: false,
    configurations: names,
    ...(next ? { opensAt: new Date(next.start).toISOString() } : {}),
  };
}

function intervalsOf(config: MaintenanceConfigurationShape, from: number, to: number): Interval[] {
  const blocked = [
    ...(config.notAllowedTime ?? []).map((s) => ({
      start: Date.parse(String(iso(s.start))),
      end: Date.parse(String(iso(s.end))),
    })),
    ...(config.maintenanceWindow?.notAllowedDates ?? []).map((s) => ({
      start: Date.parse(dateOnly(s.start)),
      end: Date.parse(dateOnly(s.end)) + DAY_MS,
    })),
  ].filter((b) => Number.isFinite(b.start) && Number.isFinite(b.end));
  const raw = config.maintenanceWindow
    ? windowIntervals(config.maintenanceWindow, from, to)
    : timeInWeekIntervals(config.timeInWeek ?? [], from, to);
  // A window that touches a not-allowed span is dropped whole: AKS does not start work that would overlap it.
  return raw.filter((i) => !blocked.some((b) => i.start < b.end && b.start < i.end));
}

function windowIntervals(
  w: NonNullable<MaintenanceConfigurationShape['maintenanceWindow']>,
  from: number,
  to: number,
): Interval[] {
  const offset = offsetMinutes(w.utcOffset);
  const [hh, mm] = w.startTime.split(':').map(Number);
  const startDate = w.startDate ? Date.parse(dateOnly(w.startDate)) : undefined;
  const out: Interval[] = [];
  for (let day = Math.floor(from / DAY_MS) * DAY_MS; day <= to; day += DAY_MS) {
    if (!scheduleIncludes(w.schedule, new Date(day), startDate)) continue;
    const start = day + ((hh ?? 0) * 60 + (mm ?? 0) - offset) * 60_000;
    out.push({ start, end: start + w.durationHours * 3_600_000 });
  }
  return out;
}

/** Whether the schedule has a window starting on `day` (a UTC midnight standing for the local date). */
function scheduleIncludes(
  schedule: NonNullable<MaintenanceConfigurationShape['maintenanceWindow']>['schedule'],
  day: Date,
  startDate: number | undefined,
): boolean {
  if (startDate !== undefined && day.getTime() < startDate) return false;
  const since = startDate ?? 0;
  const days = Math.round((day.getTime() - since) / DAY_MS);
  const months = (d: Date) => d.getUTCFullYear() * 12 + d.getUTCMonth();
  const monthsSince = startDate === undefined ? 0 : months(day) - months(new Date(startDate));
  if (schedule.daily) return days % Math.max(1, schedule.daily.intervalDays) === 0 || startDate === undefined;
  if (schedule.weekly) {
    if (WEEKDAYS[day.getUTCDay()] !== schedule.weekly.dayOfWeek) return false;
    return startDate === undefined || Math.floor(days / 7) % Math.max(1, schedule.weekly.intervalWeeks) === 0;
  }
  if (schedule.absoluteMonthly) {
    if (day.getUTCDate() !== schedule.absoluteMonthly.dayOfMonth) return false;
    return monthsSince % Math.max(1, schedule.absoluteMonthly.intervalMonths) === 0;
  }
  if (schedule.relativeMonthly) {
    const { weekIndex, dayOfWeek, intervalMonths } = schedule.relativeMonthly;
    if (WEEKDAYS[day.getUTCDay()] !== dayOfWeek) return false;
    const nth = Math.floor((day.getUTCDate() - 1) / 7);
    const last =
      day.getUTCDate() + 7 > new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth() + 1, 0)).getUTCDate();
    const matches = weekIndex === 'Last' ? last : WEEK_INDEX.indexOf(weekIndex) === nth;
    return matches && monthsSince % Math.max(1, intervalMonths) === 0;
  }
  return false;
}

function timeInWeekIntervals(
  slots: NonNullable<MaintenanceConfigurationShape['timeInWeek']>,
  from: number,
  to: number,
): Interval[] {
  const out: Interval[] = [];
  for (let day = Math.floor(from / DAY_MS) * DAY_MS; day <= to; day += DAY_MS) {
    const weekday = WEEKDAYS[new Date(day).getUTCDay()];
    for (const slot of slots) {
      if (slot.day !== weekday) continue;
      for (const hour of slot.hourSlots ?? [])
        out.push({ start: day + hour * 3_600_000, end: day + (hour + 1) * 3_600_000 });
    }
  }
  // Adjacent hour slots make one window, so that "closes at" is the real end.
  out.sort((a, b) => a.start - b.start);
  return out.reduce<Interval[]>((merged, i) => {
    const last = merged[merged.length - 1];
    if (last && i.start <= last.end) last.end = Math.max(last.end, i.end);
    else merged.push({ ...i });
    return merged;
  }, []);
}

function offsetMinutes(utcOffset: string | undefined): number {
  const m = /^([+-])(\d{2}):(\d{2})$/.exec(utcOffset ?? '+00:00');
  if (!m) return 0;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

const iso = (d: Date | string | undefined) => (d instanceof Date ? d.toISOString() : d);
const dateOnly = (d: Date | string) => `${String(iso(d)).slice(0, 10)}T00:00:00Z`;
