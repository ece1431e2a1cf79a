const error = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'stable snake_case identifier', example: 'report_text_missing' },
        message: { type: 'string' },
        message_vi: { type: 'string' },
        fields: {
          type: 'array', description: 'every refused field of a report (photos under "photos"), the first one\'s code on top',
          items: { type: 'object', required: ['field', 'code', 'message'], properties: {
            field: { type: 'string', example: 'phone' }, code: { type: 'string', example: 'contact_phone_invalid' }, message: { type: 'string', description: 'Vietnamese' },
          } },
        },
        details: { type: 'object' },
      },
    },
  },
};

const reportFields = {
  text: { type: 'string', maxLength: 5000, description: 'what happened, in Vietnamese with or without diacritics' },
  category: { type: 'string', description: 'a code from GET /api/v1/categories' },
  lat: { type: 'number', minimum: -90, maximum: 90 },
  lng: { type: 'number', minimum: -180, maximum: 180 },
  address: { type: 'string', maxLength: 500, description: 'free text; old (pre-2025) and new ward names both work' },
  ticket: { type: 'string', maxLength: 40, example: 'TK-7K3M9Q2X', description: '"this is my problem too": a ticket from GET /api/v1/nearby. The report is stored as any other (its own code, idempotent) and joins that ticket while it is open and agrees on category and place (within three times the category\'s radius, or the same unit without a point); a ticket closed meanwhile: the report is grouped as usual, and its grouping reasons say why' },
};

const citizen = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 120 },
    phone: { type: 'string', example: '0903 123 456' },
    email: { type: 'string', format: 'email' },
    national_id: { type: 'string', pattern: '^\\d{12}$', description: 'CCCD' },
    zalo_id: { type: 'string' },
  },
};

const POINT = [
  { name: 'lat', in: 'query', required: true, schema: { type: 'number', minimum: -90, maximum: 90 } },
  { name: 'lng', in: 'query', required: true, schema: { type: 'number', minimum: -180, maximum: 180 } },
];

const unit = { type: ['object', 'null'], properties: { code: { type: 'string', example: '26743' }, name: { type: 'string', example: 'Phường Bến Thành' } } };

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });

/** OpenAPI 3.1 description of the app channel, served at /api/v1/openapi.json. */
export function openApiDocument(publicUrl?: string) {
  return {
    openapi: '3.1.0',
    info: { title: 'phananh app API', version: '1', description: 'Report a problem to the city and follow it (Call Center 1022 app).' },
    servers: [{ url: publicUrl ?? '/' }],
    paths: {
      '/api/v1/reports': {
        post: {
          summary: 'File a report',
          parameters: [{ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 200 },
            description: 'a retry with the same key and body returns the first answer; a different body gets 409' }],
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { type: 'object', required: ['text'], properties: { ...reportFields, citizen } } },
              'multipart/form-data': {
                schema: { type: 'object', required: ['text'], properties: {
                  ...reportFields, name: { type: 'string' }, phone: { type: 'string' }, email: { type: 'string' },
                  photos: { type: 'array', maxItems: 5, items: { type: 'string', format: 'binary' }, description: 'JPEG, PNG, WebP, GIF or HEIC, 10 MB each' },
                } },
              },
            },
          },
          responses: {
            '201': { description: 'stored; processing follows within seconds', content: { 'application/json': { schema: { $ref: '#/components/schemas/Accepted' } } } },
            '400': errorResponse('invalid_json, idempotency_key_invalid'),
            '409': errorResponse('idempotency_key_conflict'),
            '413': errorResponse('payload_too_large, photo_too_large'),
            '415': errorResponse('content_type_unsupported, photo_type_unsupported, photo_undecodable'),
            '422': errorResponse('report_text_missing, report_text_too_long, category_unknown, coordinates_invalid, address_too_long, contact_*_invalid, too_many_photos, photo_dimensions_invalid, ticket_invalid (not a TK- code), ticket_unknown'),
            '429': { ...errorResponse('intake_rate_limited: too many reports from this address (no contact) or this contact in the hour'),
              headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'seconds until the window ends' } } },
          },
        },
      },
      '/api/v1/reports/{code}': {
        get: {
          summary: 'Status and public timeline of a report (PA-...) or ticket (TK-...); for a report, also its own text and photos (`report`) and the ward\'s public result (`result`)',
          parameters: [{ name: 'code', in: 'path', required: true, schema: { type: 'string', example: 'PA-7K3M9Q2X' } }],
          responses: { '200': { description: 'public status; no contact details, nothing of other reporters' }, '404': errorResponse('report_not_found') },
        },
      },
      '/api/v1/reports/{code}/confirm': {
        post: {
          summary: 'The holder of a report\'s code confirms the resolution of its ticket (within 7 days of it; a second confirmation changes nothing)',
          parameters: [{ name: 'code', in: 'path', required: true, schema: { type: 'string', example: 'PA-7K3M9Q2X' } }],
          responses: {
            '200': { description: '`{"confirmed":true,"already":false,"status":{...}}`; `already` when confirmed before' },
            '404': errorResponse('report_not_found'),
            '409': errorResponse('ticket_not_resolved, reopen_window_closed, ticket_already_reopened'),
            '422': errorResponse('report_code_required (a ticket code TK-... answers nothing)'),
          },
        },
      },
      '/api/v1/reports/{code}/reopen': {
        post: {
          summary: 'The holder of a report\'s code says the problem is not fixed (within 7 days of the resolution, once per resolution): the ticket goes back to the queue',
          parameters: [{ name: 'code', in: 'path', required: true, schema: { type: 'string', example: 'PA-7K3M9Q2X' } }],
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { type: 'object', required: ['reason'], properties: { reason: { type: 'string', maxLength: 2000 } } } },
              'multipart/form-data': {
                schema: { type: 'object', required: ['reason'], properties: {
                  reason: { type: 'string', maxLength: 2000 },
                  photos: { type: 'array', maxItems: 3, items: { type: 'string', format: 'binary' }, description: 'JPEG, PNG, WebP, GIF or HEIC, 10 MB each' },
                } },
              },
            },
          },
          responses: {
            '200': { description: '`{"reopened":true,"status":{...}}`' },
            '404': errorResponse('report_not_found'),
            '409': errorResponse('ticket_not_resolved, reopen_window_closed, ticket_already_reopened, ticket_already_confirmed'),
            '413': errorResponse('payload_too_large, photo_too_large'),
            '415': errorResponse('content_type_unsupported, photo_type_unsupported, photo_undecodable'),
            '422': errorResponse('reopen_reason_missing, reopen_reason_too_long, too_many_photos, photo_dimensions_invalid, report_code_required'),
            },
          },
        },
      '/api/v1/places/locate': {
        get: {
          summary: 'The unit (ward, commune) in force a point lies in, before filing; `unit` is null outside every unit',
          parameters: POINT,
          responses: {
            '200': { description: '{"lat","lng","unit":{"code","name"}|null}', content: { 'application/json': { schema: { $ref: '#/components/schemas/Located' } } } },
            '422': errorResponse('coordinates_invalid (each refused field in `fields`)'),
            '503': errorResponse('places_unavailable: this server has no place data (the edge)'),
          },
        },
      },
      '/api/v1/places/suggest': {
        get: {
          summary: 'Address suggestions while typing: units, former (pre-2025) wards with the units they became, landmarks and streets whose words start with `q`, with or without diacritics; at most 8',
          parameters: [{ name: 'q', in: 'query', required: true, schema: { type: 'string', maxLength: 80, example: 'p12 q3' } }],
          responses: {
            '200': { description: '{"suggestions":[{"kind","label","value","unit"}]}', content: { 'application/json': { schema: { $ref: '#/components/schemas/Suggestions' } } } },
            '422': errorResponse('query_too_long'),
            '503': errorResponse('places_unavailable'),
          },
        },
      },
      '/api/v1/nearby': {
        get: {
          summary: 'Open tickets of a category within its same-incident radius of a point, nearest first (at most 10): code, status in words, unit, distance, reporters, last reported; never a reporter\'s words or contact',
          parameters: [...POINT, { name: 'category', in: 'query', required: true, schema: { type: 'string', example: 'ngap_nuoc' } }],
          responses: {
            '200': { description: '{"tickets":[...]}', content: { 'application/json': { schema: { $ref: '#/components/schemas/Nearby' } } } },
            '422': errorResponse('coordinates_invalid, category_unknown'),
            '503': errorResponse('places_unavailable'),
          },
        },
      },
      '/api/v1/categories': { get: { summary: 'Categories a report may name', responses: { '200': { description: 'list' } } } },
    },
    components: {
      schemas: {
        Error: error,
        Located: { type: 'object', required: ['lat', 'lng', 'unit'], properties: { lat: { type: 'number' }, lng: { type: 'number' }, unit } },
        Suggestions: {
          type: 'object', required: ['suggestions'],
          properties: { suggestions: { type: 'array', maxItems: 8, items: { type: 'object', required: ['kind', 'label', 'value', 'unit'], properties: {
            kind: { enum: ['unit', 'former_ward', 'landmark', 'street'] },
            label: { type: 'string', example: 'Phường 12, Quận 3 (cũ) – nay thuộc Phường Nhiêu Lộc', description: 'what the resident reads' },
            value: { type: 'string', example: 'Phường 12, Quận 3', description: 'what goes into the address' },
            unit: { ...unit, description: 'the unit in force, when only one' },
            point: { type: 'object', properties: { lat: { type: 'number' }, lng: { type: 'number' } }, description: 'a landmark\'s point' },
          } } } },
        },
        Nearby: {
          type: 'object', required: ['tickets'],
          properties: { tickets: { type: 'array', maxItems: 10, items: { type: 'object', properties: {
            code: { type: 'string', example: 'TK-7K3M9Q2X' }, status: { type: 'string', example: 'dispatched' }, status_label: { type: 'string', example: 'Đã chuyển đơn vị xử lý' },
            category: { type: 'object', properties: { code: { type: 'string' }, name: { type: 'string' } } }, area: unit,
            distance_m: { type: 'integer' }, reporters: { type: 'integer' },
            received_at: { type: 'string', format: 'date-time' }, last_reported_at: { type: 'string', format: 'date-time' },
            lat: { type: 'number', description: 'to about 10 m' }, lng: { type: 'number' },
          } } } },
        },
        Accepted: {
          type: 'object',
          required: ['code', 'status'],
          properties: {
            code: { type: 'string', example: 'PA-7K3M9Q2X' },
            status: { type: 'string', example: 'received' },
            status_label: { type: 'string' },
            ticket: { type: ['string', 'null'] },
            received_at: { type: 'string', format: 'date-time' },
            tracking_url: { type: 'string' },
          },
        },
      },
    },
  };
}
