import type { Migration } from 'kysely';
import * as m0001 from './0001_initial.ts';
import * as m0002 from './0002_grouping.ts';
import * as m0003 from './0003_accounts.ts';
import * as m0004 from './0004_sla.ts';
import * as m0005 from './0005_workflow.ts';
import * as m0006 from './0006_realtime.ts';
import * as m0007 from './0007_place_keys.ts';
import * as m0008 from './0008_endpoints.ts';
import * as m0009 from './0009_category_radius.ts';
import * as m0010 from './0010_incident_window.ts';
import * as m0011 from './0011_report_place_keys.ts';
import * as m0012 from './0012_street_units.ts';
import * as m0013 from './0013_ticket_area_candidates.ts';
import * as m0014 from './0014_channel_messaging.ts';
import * as m0015 from './0015_channel_quarantine.ts';
import * as m0016 from './0016_intake_limits.ts';
import * as m0017 from './0017_open311.ts';
import * as m0018 from './0018_ticket_search.ts';
import * as m0020 from './0020_dashboard.ts';
import * as m0023 from './0023_reopen.ts';
import * as m0026 from './0026_dashboard_rollup.ts';
import * as m0027 from './0027_search_filters.ts';
import * as m0028 from './0028_dashboard_rollup_delta.ts';
import * as m0029 from './0029_search_refresh_bounded.ts';
import * as m0030 from './0030_search_partitions.ts';

/** Every migration, in order. Listed statically so bundlers (the edge entry) see them too. */
export const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_grouping': m0002,
  '0003_accounts': m0003,
  '0004_sla': m0004,
  '0005_workflow': m0005,
  '0006_realtime': m0006,
  '0007_place_keys': m0007,
  '0008_endpoints': m0008,
  '0009_category_radius': m0009,
  '0010_incident_window': m0010,
  '0011_report_place_keys': m0011,
  '0012_street_units': m0012,
  '0013_ticket_area_candidates': m0013,
  '0014_channel_messaging': m0014,
  '0015_channel_quarantine': m0015,
  '0016_intake_limits': m0016,
  '0017_open311': m0017,
  '0018_ticket_search': m0018,
  '0020_dashboard': m0020,
  '0023_reopen': m0023,
  '0026_dashboard_rollup': m0026,
  '0027_search_filters': m0027,
  '0028_dashboard_rollup_delta': m0028,
  '0029_search_refresh_bounded': m0029,
  '0030_search_partitions': m0030,
};
