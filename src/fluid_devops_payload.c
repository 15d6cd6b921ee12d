/*
 * Parsing and checking of Azure DevOps work item event payloads: turns the
 * request body into the values a card is made of, or says what is wrong.
 */

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <stdarg.h>

#include "fluid_devops_payload.h"


#define FLUID_DEVOPS_TEST_HOST  "fabrikam-fiber-inc.visualstudio.com"
#define FLUID_DEVOPS_ZERO_GUID  "00000000-0000-0000-0000-000000000000"

#define FLUID_DEVOPS_ALL_DETAILS                                             \
    "; set \"Resource details to send\" to All in the service hook"


static fluid_devops_payload_rc_e fluid_devops_payload_error(
    fluid_devops_payload_t *p, fluid_devops_payload_rc_e rc,
    const char *fmt, ...);
static fluid_devops_payload_rc_e fluid_devops_payload_json_error(
    fluid_devops_payload_t *p, json_error_t *err, const char *buf,
    size_t len);
static fluid_devops_payload_rc_e fluid_devops_payload_resource(
    fluid_devops_payload_t *p, json_t *resource);
static fluid_devops_payload_rc_e fluid_devops_payload_fields(
    fluid_devops_payload_t *p, json_t *fields);
static fluid_devops_payload_rc_e fluid_devops_payload_text(
    fluid_devops_payload_t *p, json_t *obj, const char *key,
    fluid_devops_text_t *text);
static fluid_devops_payload_rc_e fluid_devops_payload_identity(
    fluid_devops_payload_t *p, json_t *fields, const char *key);
static fluid_devops_payload_rc_e fluid_devops_payload_priority(
    fluid_devops_payload_t *p, json_t *fields, const char *key);
static int fluid_devops_payload_test_url(fluid_devops_text_t *url);
static void fluid_devops_payload_set(fluid_devops_text_t *text, json_t *s);


fluid_devops_payload_rc_e
fluid_devops_payload_parse(fluid_devops_payload_t *p, const char *buf,
    size_t len)
{
    json_t                     *v, *resource;
    json_error_t                err;
    fluid_devops_payload_rc_e   rc;

    memset(p, 0, sizeof(fluid_devops_payload_t));

    if (len == 0) {
        return fluid_devops_payload_error(p, FLUID_DEVOPS_PAYLOAD_INVALID,
                                          "the request body is empty");
    }

    /* a key given twice would make the body mean two things */
    p->root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
    if (p->root == NULL) {
        return fluid_devops_payload_json_error(p, &err, buf, len);
    }

    if (!json_is_object(p->root)) {
        return fluid_devops_payload_error(p, FLUID_DEVOPS_PAYLOAD_INVALID,
                                          "the body is not a JSON object");
    }

    v = json_object_get(p->root, "eventType");
    if (v == NULL || json_is_null(v)) {
        return fluid_devops_payload_error(p, FLUID_DEVOPS_PAYLOAD_INVALID,
                                          "\"eventType\" is missing");
    }

    if (!json_is_string(v) || json_string_length(v) == 0) {
        return fluid_devops_payload_error(p, FLUID_DEVOPS_PAYLOAD_INVALID,
                                   "\"eventType\" is not a non-empty string");
    }

    fluid_devops_payload_set(&p->event_type, v);

    if (strcmp(p->event_type.data, "workitem.created") == 0) {
        p->event = FLUID_DEVOPS_EVENT_CREATED;

    } else if (strcmp(p->event_type.data, "workitem.deleted") == 0) {
        p->event = FLUID_DEVOPS_EVENT_DELETED;

    } else {
        p->event = FLUID_DEVOPS_EVENT_OTHER;
    }

    /* the wizard's Test button sends before the subscription has an id */
    v = json_object_get(p->root, "subscriptionId");
    if (json_is_string(v)
        && strcmp(json_string_value(v), FLUID_DEVOPS_ZERO_GUID) == 0)
    {
        p->is_test = 1;
    }

    resource = json_object_get(p->root, "resource");
    if (resource == NULL || json_is_null(resource)) {
        return fluid_devops_payload_error(p,
                   p->event == FLUID_DEVOPS_EVENT_CREATED
                       ? FLUID_DEVOPS_PAYLOAD_INCOMPLETE
                       : FLUID_DEVOPS_PAYLOAD_INVALID,
                   "\"resource\" is missing" FLUID_DEVOPS_ALL_DETAILS);
    }

    if (!json_is_object(resource)) {
        return fluid_devops_payload_error(p, FLUID_DEVOPS_PAYLOAD_INVALID,
                                          "\"resource\" is not an object");
    }

    rc = fluid_devops_payload_resource(p, resource);
    if (rc != FLUID_DEVOPS_PAYLOAD_OK) {
        return rc;
    }

    return FLUID_DEVOPS_PAYLOAD_OK;
}


void
fluid_devops_payload_free(fluid_devops_payload_t *p)
{
    if (p->assigned_name) {
        json_decref(p->assigned_name);
        p->assigned_name = NULL;
    }

    if (p->root) {
        json_decref(p->root);
        p->root = NULL;
    }
}


/*
 * application/json with any parameters, or any type with a +json suffix
 * (RFC 6839); the value is not NUL-terminated
 */

int
fluid_devops_content_type_is_json(const char *value, size_t len)
{
    size_t       n, i;
    const char  *slash;

    n = 0;
    while (n < len && value[n] != ';') {
        n++;
    }

    while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t')) {
        n--;
    }

    i = 0;
    while (i < n && (value[i] == ' ' || value[i] == '\t')) {
        i++;
    }

    value += i;
    n -= i;

    if (n == sizeof("application/json") - 1
        && strncasecmp(value, "application/json", n) == 0)
    {
        return 1;
    }

    slash = memchr(value, '/', n);
    if (slash == NULL || slash == value) {
        return 0;
    }

    /* a subtype of more than the bare suffix, e.g. "vnd.x+json" */
    if ((size_t) (value + n - slash) > sizeof("+json")
        && strncasecmp(value + n - 5, "+json", 5) == 0)
    {
        return 1;
    }

    return 0;
}


static fluid_devops_payload_rc_e
fluid_devops_payload_error(fluid_devops_payload_t *p,
    fluid_devops_payload_rc_e rc, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    vsnprintf(p->error, sizeof(p->error), fmt, args);
    va_end(args);

    return rc;
}


static fluid_devops_payload_rc_e
fluid_devops_payload_json_error(fluid_devops_payload_t *p, json_error_t *err,
    const char *buf, size_t len)
{
    switch (json_error_code(err)) {

    case json_error_out_of_memory:
        return fluid_devops_payload_error(p, FLUID_DEVOPS_PAYLOAD_NOMEM,
                                          "out of memory");

    case json_error_null_character:
        return fluid_devops_payload_error(p, FLUID_DEVOPS_PAYLOAD_INVALID,
                               "the body holds text with a NUL character");

    case json_error_duplicate_key:
        return fluid_devops_payload_error(p, FLUID_DEVOPS_PAYLOAD_INVALID,
                                          "the body gives a key twice "
                                          "(line %d, column %d)",
                                          err->line, err->column);

    case json_error_invalid_utf8:
        return fluid_devops_payload_error(p, FLUID_DEVOPS_PAYLOAD_INVALID,
                                 "the body is not valid UTF-8 at byte %d",
                                 err->position);

    default:
        break;
    }

    if (memchr(buf, '\0', len) != NULL) {
        return fluid_devops_payload_error(p, FLUID_DEVOPS_PAYLOAD_INVALID,
                               "the body holds text with a NUL character");
    }

    return fluid_devops_payload_error(p, FLUID_DEVOPS_PAYLOAD_INVALID,
                                      "the body is not valid JSON: %s "
                                      "(line %d, column %d)",
                                      err->text, err->line, err->column);
}


static fluid_devops_payload_rc_e
fluid_devops_payload_resource(fluid_devops_payload_t *p, json_t *resource)
{
    json_t                     *v, *links, *html;
    json_int_t                  id;
    fluid_devops_text_t         rest;
    fluid_devops_payload_rc_e   rc;

    v = json_object_get(resource, "id");
    if (v == NULL || json_is_null(v)) {
        return fluid_devops_payload_error(p, FLUID_DEVOPS_PAYLOAD_INVALID,
                                          "\"resource.id\" is missing");
    }

    if (!json_is_integer(v)) {
        return fluid_devops_payload_error(p, FLUID_DEVOPS_PAYLOAD_INVALID,
                                          "\"resource.id\" is not an integer");
    }

    id = json_integer_value(v);
    if (id <= 0) {
        return fluid_devops_payload_error(p, FLUID_DEVOPS_PAYLOAD_INVALID,
                                          "\"resource.id\" is out of range");
    }

    p->work_item_id = (int64_t) id;

    /* the link a person opens, else the REST URL */
    links = json_object_get(resource, "_links");
    html = json_is_object(links) ? json_object_get(links, "html") : NULL;
    v = json_is_object(html) ? json_object_get(html, "href") : NULL;

    if (json_is_string(v)) {
        fluid_devops_payload_set(&p->url, v);

        if (fluid_devops_payload_test_url(&p->url)) {
            p->is_test = 1;
        }
    }

    rc = fluid_devops_payload_text(p, resource, "url", &rest);
    if (rc != FLUID_DEVOPS_PAYLOAD_OK) {
        return rc;
    }

    if (fluid_devops_payload_test_url(&rest)) {
        p->is_test = 1;
    }

    if (p->url.data == NULL) {
        p->url = rest;
    }

    v = json_object_get(resource, "fields");

    if (v == NULL || json_is_null(v)) {
        if (p->event == FLUID_DEVOPS_EVENT_CREATED) {
            return fluid_devops_payload_error(p,
                                 FLUID_DEVOPS_PAYLOAD_INCOMPLETE,
                                 "\"resource.fields\" is missing"
                                 FLUID_DEVOPS_ALL_DETAILS);
        }

        return FLUID_DEVOPS_PAYLOAD_OK;
    }

    if (!json_is_object(v)) {
        return fluid_devops_payload_error(p, FLUID_DEVOPS_PAYLOAD_INVALID,
                                      "\"resource.fields\" is not an object");
    }

    p->fields = v;

    /* other events, e.g. workitem.updated, hold {oldValue, newValue} pairs */
    if (p->event == FLUID_DEVOPS_EVENT_OTHER) {
        return FLUID_DEVOPS_PAYLOAD_OK;
    }

    return fluid_devops_payload_fields(p, v);
}


static fluid_devops_payload_rc_e
fluid_devops_payload_fields(fluid_devops_payload_t *p, json_t *fields)
{
    size_t                      i;
    fluid_devops_payload_rc_e   rc;

    static const struct {
        const char             *key;
        size_t                  offset;
    } texts[] = {
        { "System.WorkItemType",
          offsetof(fluid_devops_payload_t, work_item_type) },
        { "System.Title", offsetof(fluid_devops_payload_t, title) },
        { "System.Description",
          offsetof(fluid_devops_payload_t, description) },
        { "System.State", offsetof(fluid_devops_payload_t, state) },
        { "System.Tags", offsetof(fluid_devops_payload_t, tags) },
        { "System.TeamProject", offsetof(fluid_devops_payload_t, project) }
    };

    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        rc = fluid_devops_payload_text(p, fields, texts[i].key,
                                       (fluid_devops_text_t *)
                                           ((char *) p + texts[i].offset));
        if (rc != FLUID_DEVOPS_PAYLOAD_OK) {
            return rc;
        }
    }

    rc = fluid_devops_payload_identity(p, fields, "System.AssignedTo");
    if (rc != FLUID_DEVOPS_PAYLOAD_OK) {
        return rc;
    }

    rc = fluid_devops_payload_priority(p, fields,
                                       "Microsoft.VSTS.Common.Priority");
    if (rc != FLUID_DEVOPS_PAYLOAD_OK) {
        return rc;
    }

    if (p->event != FLUID_DEVOPS_EVENT_CREATED) {
        return FLUID_DEVOPS_PAYLOAD_OK;
    }

    if (p->title.data == NULL || p->title.len == 0) {
        return fluid_devops_payload_error(p, FLUID_DEVOPS_PAYLOAD_INCOMPLETE,
                                          "\"System.Title\" is missing"
                                          FLUID_DEVOPS_ALL_DETAILS);
    }

    if (p->work_item_type.data == NULL || p->work_item_type.len == 0) {
        return fluid_devops_payload_error(p, FLUID_DEVOPS_PAYLOAD_INCOMPLETE,
                                          "\"System.WorkItemType\" is missing"
                                          FLUID_DEVOPS_ALL_DETAILS);
    }

    return FLUID_DEVOPS_PAYLOAD_OK;
}


/* an optional string member: absent and null are normal, other types not */

static fluid_devops_payload_rc_e
fluid_devops_payload_text(fluid_devops_payload_t *p, json_t *obj,
    const char *key, fluid_devops_text_t *text)
{
    json_t  *v;

    v = json_object_get(obj, key);

    if (v == NULL || json_is_null(v)) {
        text->data = NULL;
        text->len = 0;
        return FLUID_DEVOPS_PAYLOAD_OK;
    }

    if (!json_is_string(v)) {
        return fluid_devops_payload_error(p, FLUID_DEVOPS_PAYLOAD_INVALID,
                                          "\"%s\" is not a string", key);
    }

    fluid_devops_payload_set(text, v);

    return FLUID_DEVOPS_PAYLOAD_OK;
}


/*
 * identities arrive as "Display Name <email or DOMAIN\user>" (resource
 * version 1.0) or as an object with displayName (5.1-preview.3)
 */

static fluid_devops_payload_rc_e
fluid_devops_payload_identity(fluid_devops_payload_t *p, json_t *fields,
    const char *key)
{
    size_t       n;
    json_t      *v, *name;
    const char  *s, *lt;

    v = json_object_get(fields, key);

    if (v == NULL || json_is_null(v)) {
        return FLUID_DEVOPS_PAYLOAD_OK;
    }

    if (json_is_object(v)) {
        name = json_object_get(v, "displayName");

        if (name == NULL || json_is_null(name)) {
            name = json_object_get(v, "uniqueName");
        }

        if (name == NULL || json_is_null(name)) {
            return FLUID_DEVOPS_PAYLOAD_OK;
        }

        if (!json_is_string(name)) {
            return fluid_devops_payload_error(p, FLUID_DEVOPS_PAYLOAD_INVALID,
                                           "\"%s.displayName\" is not a string",
                                           key);
        }

        fluid_devops_payload_set(&p->assigned_to, name);
        return FLUID_DEVOPS_PAYLOAD_OK;
    }

    if (!json_is_string(v)) {
        return fluid_devops_payload_error(p, FLUID_DEVOPS_PAYLOAD_INVALID,
                                "\"%s\" is neither a string nor an identity",
                                key);
    }

    s = json_string_value(v);
    n = json_string_length(v);

    lt = (n > 0 && s[n - 1] == '>') ? strrchr(s, '<') : NULL;

    if (lt == NULL || lt == s) {
        fluid_devops_payload_set(&p->assigned_to, v);
        return FLUID_DEVOPS_PAYLOAD_OK;
    }

    n = lt - s;
    while (n > 0 && s[n - 1] == ' ') {
        n--;
    }

    p->assigned_name = json_stringn_nocheck(s, n);
    if (p->assigned_name == NULL) {
        return fluid_devops_payload_error(p, FLUID_DEVOPS_PAYLOAD_NOMEM,
                                          "out of memory");
    }

    fluid_devops_payload_set(&p->assigned_to, p->assigned_name);

    return FLUID_DEVOPS_PAYLOAD_OK;
}


static fluid_devops_payload_rc_e
fluid_devops_payload_priority(fluid_devops_payload_t *p, json_t *fields,
    const char *key)
{
    json_t      *v;
    json_int_t   n;

    v = json_object_get(fields, key);

    if (v == NULL || json_is_null(v)) {
        return FLUID_DEVOPS_PAYLOAD_OK;
    }

    if (!json_is_integer(v)) {
        return fluid_devops_payload_error(p, FLUID_DEVOPS_PAYLOAD_INVALID,
                                          "\"%s\" is not an integer", key);
    }

    n = json_integer_value(v);
    if (n < INT32_MIN || n > INT32_MAX) {
        return fluid_devops_payload_error(p, FLUID_DEVOPS_PAYLOAD_INVALID,
                                          "\"%s\" is out of range", key);
    }

    p->has_priority = 1;
    p->priority = (int32_t) n;

    return FLUID_DEVOPS_PAYLOAD_OK;
}


/* the Test button's canned sample points at Microsoft's demo organisation */

static int
fluid_devops_payload_test_url(fluid_devops_text_t *url)
{
    size_t       n;
    const char  *s;

    if (url->data == NULL) {
        return 0;
    }

    s = url->data;

    if (strncasecmp(s, "http://", 7) == 0) {
        s += 7;

    } else if (strncasecmp(s, "https://", 8) == 0) {
        s += 8;

    } else {
        return 0;
    }

    n = sizeof(FLUID_DEVOPS_TEST_HOST) - 1;

    return strncasecmp(s, FLUID_DEVOPS_TEST_HOST, n) == 0
           && (s[n] == '/' || s[n] == ':' || s[n] == '\0');
}


static void
fluid_devops_payload_set(fluid_devops_text_t *text, json_t *s)
{
    text->data = json_string_value(s);
    text->len = json_string_length(s);
}
