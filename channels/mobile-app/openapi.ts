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
            '422': errorResponse('report_text_missing, report_text_too_long, category_unknown, coordinates_invalid, address_too_long, contact_*_invalid, too_many_photos, photo_dimensions_invalid'),
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
      '/api/v1/categories': { get: { summary: 'Categories a report may name', responses: { '200': { description: 'list' } } } },
    },
    components: {
      schemas: {
        Error: error,
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
