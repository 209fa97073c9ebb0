// When AKS maintenance configurations let a change start, as kmsflow reads them: each schedule kind, the UTC
// offset, the older timeInWeek slots, not-allowed dates, and configurations kmsflow does not honour.
import { describe, expect, it } from 'vitest';
import { type MaintenanceConfigurationShape, windowState } from '../../model/maintenance-window';

// Tuesday 2026-12-01 10:30 UTC.
const NOW = new Date('2026-12-01T10:30:00Z');
const window = (
  schedule: NonNullable<MaintenanceConfigurationShape['maintenanceWindow']>['schedule'],
  extra: Partial<NonNullable<MaintenanceConfigurationShape['maintenanceWindow']>> = {},
): MaintenanceConfigurationShape => ({
  name: 'aksManagedAutoUpgradeSchedule',
  maintenanceWindow: { schedule, durationHours: 4, startTime: '09:00', utcOffset: '+00:00', ...extra },
});

describe('windowState', () => {
  it('is open without any configuration kmsflow honours', () => {
    expect(windowState([], NOW)).toEqual({ open: true, configurations: [] });
    expect(
      windowState(
        [
          {
            ...window({ weekly: { intervalWeeks: 1, dayOfWeek: 'Friday' } }),
            name: 'aksManagedNodeOSUpgradeSchedule',
          },
        ],
        NOW,
      ).open,
    ).toBe(true);
  });

  it('reads daily and weekly windows, open now or opening next', () => {
    expect(windowState([window({ daily: { intervalDays: 1 } })], NOW)).toEqual({
      open: true,
      configurations: ['aksManagedAutoUpgradeSchedule'],
      closesAt: '2026-12-01T13:00:00.000Z',
    });
    expect(windowState([window({ weekly: { intervalWeeks: 1, dayOfWeek: 'Friday' } })], NOW)).toEqual({
      open: false,
      configurations: ['aksManagedAutoUpgradeSchedule'],
      opensAt: '2026-12-04T09:00:00.000Z',
    });
  });

  it('applies the UTC offset: 12:00 at +02:00 is 10:00 UTC', () => {
    expect(
      windowState(
        [
          window(
            { daily: { intervalDays: 1 } },
            { startTime: '12:00', utcOffset: '+02:00', durationHours: 1 },
          ),
        ],
        NOW,
      ),
    ).toMatchObject({ open: true, closesAt: '2026-12-01T11:00:00.000Z' });
    expect(
      windowState(
        [
          window(
            { daily: { intervalDays: 1 } },
            { startTime: '12:00', utcOffset: '-02:00', durationHours: 1 },
          ),
        ],
        NOW,
      ),
    ).toMatchObject({ open: false, opensAt: '2026-12-01T14:00:00.000Z' });
  });

  it('reads monthly schedules and intervals counted from the start date', () => {
    expect(
      windowState([window({ absoluteMonthly: { intervalMonths: 1, dayOfMonth: 15 } })], NOW),
    ).toMatchObject({ open: false, opensAt: '2026-12-15T09:00:00.000Z' });
    expect(
      windowState(
        [window({ relativeMonthly: { intervalMonths: 1, weekIndex: 'Last', dayOfWeek: 'Monday' } })],
        NOW,
      ),
    ).toMatchObject({ opensAt: '2026-12-28T09:00:00.000Z' });
    expect(
      windowState(
        [window({ relativeMonthly: { intervalMonths: 1, weekIndex: 'First', dayOfWeek: 'Tuesday' } })],
        NOW,
      ),
    ).toMatchObject({ open: true });
    // Every second week from Tuesday 2026-11-24: not this Tuesday, the next but one.
    expect(
      windowState(
        [window({ weekly: { intervalWeeks: 2, dayOfWeek: 'Tuesday' } }, { startDate: '2026-11-24' })],
        NOW,
      ),
    ).toMatchObject({ open: false, opensAt: '2026-12-08T09:00:00.000Z' });
  });

  it('reads the older timeInWeek hour slots (UTC), adjacent slots as one window', () => {
    const legacy: MaintenanceConfigurationShape = {
      name: 'default',
      timeInWeek: [{ day: 'Tuesday', hourSlots: [10, 11] }],
    };
    expect(windowState([legacy], NOW)).toEqual({
      open: true,
      configurations: ['default'],
      closesAt: '2026-12-01T12:00:00.000Z',
    });
    expect(
      windowState([{ name: 'default', timeInWeek: [{ day: 'Wednesday', hourSlots: [2] }] }], NOW),
    ).toMatchObject({ open: false, opensAt: '2026-12-02T02:00:00.000Z' });
  });

  it('drops a window that touches a not-allowed span', () => {
    const blocked = window(
      { daily: { intervalDays: 1 } },
      { notAllowedDates: [{ start: '2026-12-01', end: '2026-12-02' }] },
    );
    expect(windowState([blocked], NOW)).toMatchObject({ open: false, opensAt: '2026-12-03T09:00:00.000Z' });
    const notAllowedTime: MaintenanceConfigurationShape = {
      name: 'default',
      timeInWeek: [{ day: 'Tuesday', hourSlots: [10] }],
      notAllowedTime: [{ start: '2026-12-01T10:00:00Z', end: '2026-12-01T10:45:00Z' }],
    };
    expect(windowState([notAllowedTime], NOW)).toMatchObject({
      open: false,
      opensAt: '2026-12-08T10:00:00.000Z',
    });
  });

  it('is open when any honoured configuration is open', () => {
    const closed = window({ weekly: { intervalWeeks: 1, dayOfWeek: 'Friday' } });
    const open: MaintenanceConfigurationShape = {
      name: 'default',
      timeInWeek: [{ day: 'Tuesday', hourSlots: [10] }],
    };
    expect(windowState([closed, open], NOW)).toMatchObject({
      open: true,
      configurations: ['aksManagedAutoUpgradeSchedule', 'default'],
    });
  });
});
