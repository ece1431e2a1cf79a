// What is particular to one city (FixMyStreet's "cobrand"): its units and their history, the
// names residents still use, its departments and categories, and the words residents and staff
// read. Another city is another profile, not a fork. No imports: channels and pages read the
// wording through the kit.

/** The words residents and staff read that name the city's service. */
export interface CityWording {
  /** The service residents know and call ("Tổng đài 1022"). */
  hotline: string;
  /** The portal's title in the page header. */
  portalTitle: string;
  /** Short name in page titles ("Phản ánh 1022"). */
  siteName: string;
  /** What a reporter is sent when their report has been handled (`result`: the ward's note). */
  resolvedNotice(reportCode: string, result: string | undefined): string;
  /** The acknowledgement a reporter on a channel that writes back gets (SMS, Messenger, e-mail). */
  receivedNotice(reportCode: string): string;
  /** What they get when the ticket goes to a unit's force (`unit`: its name). */
  dispatchedNotice(reportCode: string, unit: string | null): string;
}

export interface CityProfile {
  id: string;
  name: string;
  /** The units in force (GeoJSON), imported on a first start; `codeProp`/`nameProp` name their properties. */
  units: { file: string; codeProp: string; nameProp: string };
  /**
   * Where the city was reorganised: its former wards and the old -> new mapping (JSON); `merges`:
   * wards merged before the former-ward list's date that residents still write, with the wards
   * they became (core/places/gazetteer.ts `FormerWardMerge`).
   */
  formerUnits?: { wards: string; mapping: string; merges?: string };
  /**
   * The city's street names and landmarks (JSON), with which the engine reads a place from words
   * (core/places/place-reader.ts); without them it reads house numbers and the words after them.
   * `streetUnits`: where streets run, by former district and the units in force along them
   * (core/places/gazetteer.ts `StreetUnits`), to narrow "a street, a former district" to units.
   * `initials`: the street residents mean by initials several streets share ("NHC"; place-reader.ts
   * `StreetInitials`).
   */
  places?: { streets?: string; landmarks?: string; streetUnits?: string; initials?: string };
  /** District names residents still write that now mean another (folded: "quan 2" -> "thu duc"). */
  districtAliases: Record<string, string>;
  /** Departments and categories (keywords, duplicate radius), loaded on a first start (JSON). */
  categories: string;
  /** Hand-labelled examples that train the topic model (JSON lines). */
  topics: string;
  wording: CityWording;
  /** Where the portal's map opens before a point is chosen (the city centre) and how close. */
  mapCentre?: { lat: number; lng: number; zoom: number };
}
