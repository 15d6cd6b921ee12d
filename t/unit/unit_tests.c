/*
 * Unit tests, printed as TAP, of the DevOps payload parser and the check of
 * the Basic-auth credentials.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <stdint.h>
#include <inttypes.h>

#include "fluid_devops_payload.h"
#include "fluid_devops_credentials.h"


#define T_REST_URL                                                           \
    "https://dev.azure.com/contoso-fab/"                                     \
    "91833f56-5e5f-433b-ba57-88b2010df6b4/_apis/wit/workItems/1042"
#define T_HTML_URL                                                           \
    "https://dev.azure.com/contoso-fab/"                                     \
    "91833f56-5e5f-433b-ba57-88b2010df6b4/_workitems/edit/1042"
#define T_ZERO_GUID  "00000000-0000-0000-0000-000000000000"
#define T_TEST_REST                                                          \
    "http://fabrikam-fiber-inc.visualstudio.com/DefaultCollection/"          \
    "_apis/wit/workItems/5"

/* the least a created event needs besides the fields under test */
#define T_TYPE_TITLE                                                         \
    "\"System.WorkItemType\":\"Task\",\"System.Title\":\"Reconcile\""

#define T_DESCRIPTION                                                        \
    "<div>The nightly import writes some ledger rows twice.<br></div>"       \
    "<ul><li>detect duplicates by <b>batchId</b></li>"                       \
    "<li>keep the first row&nbsp;</li></ul>"


typedef struct {
    const char  *name;
    const char  *body;
    size_t       len;                 /* 0: strlen(body) */
    const char  *error;               /* a part of the message expected */
} t_invalid_t;


static void t_ok(int pass, const char *fmt, ...);
static void t_diag(const char *fmt, ...);
static void t_text(fluid_devops_text_t *text, const char *expect,
    const char *name);
static void t_null(fluid_devops_text_t *text, const char *name);
static void t_error(fluid_devops_payload_t *p, fluid_devops_payload_rc_e rc,
    fluid_devops_payload_rc_e expect, const char *part, const char *name);
static fluid_devops_payload_rc_e t_parse(fluid_devops_payload_t *p,
    const char *body, size_t len);
static fluid_devops_payload_rc_e t_parse_str(fluid_devops_payload_t *p,
    const char *body);
static fluid_devops_payload_rc_e t_parse_fields(fluid_devops_payload_t *p,
    const char *event, const char *fields);
static fluid_devops_payload_rc_e t_parse_test(fluid_devops_payload_t *p,
    const char *subscription, const char *html, const char *rest);

static void t_created_sample(void);
static void t_identities(void);
static void t_deleted(void);
static void t_incomplete(void);
static void t_other_events(void);
static void t_invalid(void);
static void t_limits(void);
static void t_non_ascii(void);
static void t_test_button(void);
static void t_content_type(void);
static void t_credentials(void);
static void t_free(void);


static unsigned  t_run;
static unsigned  t_failed;


static const char  t_created_task[] =
    "{\"subscriptionId\":\"fc9393b2-e47d-40a6-881b-4c3800732846\","
    "\"notificationId\":17,"
    "\"id\":\"00ba0706-35a5-4c06-816c-2aa35e3b816e\","
    "\"eventType\":\"workitem.created\",\"publisherId\":\"tfs\","
    "\"message\":{\"text\":\"Task 1042 (Reconcile duplicate ledger entries"
    " after nightly import) created by Jamal Hartnell\"},"
    "\"resource\":{\"id\":1042,\"rev\":1,\"fields\":{"
    "\"System.AreaPath\":\"Harbor\\\\Payments\","
    "\"System.TeamProject\":\"Harbor\","
    "\"System.IterationPath\":\"Harbor\\\\Sprint 14\","
    "\"System.WorkItemType\":\"Task\","
    "\"System.State\":\"To Do\","
    "\"System.Reason\":\"Added to backlog\","
    "\"System.AssignedTo\":"
    "\"Mireille Duchamp <mireille.duchamp@contoso-fab.example>\","
    "\"System.CreatedDate\":\"2025-03-11T09:14:27.583Z\","
    "\"System.CreatedBy\":"
    "\"Jamal Hartnell <jamal.hartnell@contoso-fab.example>\","
    "\"System.CommentCount\":0,"
    "\"System.Title\":"
    "\"Reconcile duplicate ledger entries after nightly import\","
    "\"Microsoft.VSTS.Scheduling.RemainingWork\":6.0,"
    "\"Microsoft.VSTS.Common.Priority\":2,"
    "\"Microsoft.VSTS.Common.Activity\":\"Development\","
    "\"System.Description\":\"" T_DESCRIPTION "\","
    "\"System.Tags\":\"backend; payments\","
    "\"System.Parent\":1037},"
    "\"relations\":[{\"rel\":\"System.LinkTypes.Hierarchy-Reverse\","
    "\"url\":\"https://dev.azure.com/contoso-fab/_apis/wit/workItems/1037\","
    "\"attributes\":{\"isLocked\":false,\"name\":\"Parent\"}}],"
    "\"_links\":{\"self\":{\"href\":\"" T_REST_URL "\"},"
    "\"html\":{\"href\":\"" T_HTML_URL "\"}},"
    "\"url\":\"" T_REST_URL "\"},"
    "\"resourceVersion\":\"1.0\","
    "\"createdDate\":\"2025-03-11T09:14:34.9183306Z\"}";


static const char  t_deleted_task[] =
    "{\"subscriptionId\":\"3e423ac0-03a0-4165-89f2-c81b308111da\","
    "\"eventType\":\"workitem.deleted\",\"publisherId\":\"tfs\","
    "\"resource\":{\"id\":1038,\"rev\":3,\"fields\":{"
    "\"System.AreaPath\":\"Harbor\\\\Payments\","
    "\"System.TeamProject\":\"Harbor\","
    "\"System.WorkItemType\":\"Task\","
    "\"System.State\":\"To Do\","
    "\"System.Title\":\"Spike: evaluate ledger archiving options\","
    "\"Microsoft.VSTS.Common.Priority\":3},"
    "\"_links\":{\"self\":{\"href\":"
    "\"https://dev.azure.com/contoso-fab/_apis/wit/recyclebin/1038\"}},"
    "\"url\":\"https://dev.azure.com/contoso-fab/_apis/wit/recyclebin/1038\"},"
    "\"resourceVersion\":\"1.0\"}";


/* an update: fields hold what changed, as {oldValue, newValue} */

static const char  t_updated_task[] =
    "{\"subscriptionId\":\"fc9393b2-e47d-40a6-881b-4c3800732846\","
    "\"eventType\":\"workitem.updated\",\"publisherId\":\"tfs\","
    "\"resource\":{\"id\":4,\"workItemId\":1042,\"rev\":4,"
    "\"revisedBy\":{\"displayName\":\"Jamal Hartnell\"},"
    "\"fields\":{"
    "\"System.Rev\":{\"oldValue\":3,\"newValue\":4},"
    "\"System.State\":{\"oldValue\":\"To Do\",\"newValue\":\"Doing\"},"
    "\"System.Title\":{\"oldValue\":\"Reconcile\","
    "\"newValue\":\"Reconcile duplicates\"},"
    "\"System.AssignedTo\":{\"newValue\":\"Mireille Duchamp <m@x.example>\"},"
    "\"Microsoft.VSTS.Common.Priority\":{\"oldValue\":2,\"newValue\":1}},"
    "\"revision\":{\"id\":1042,\"rev\":4,\"fields\":{"
    "\"System.WorkItemType\":\"Task\",\"System.State\":\"Doing\","
    "\"System.Title\":\"Reconcile duplicates\"},"
    "\"url\":\"" T_REST_URL "/revisions/4\"},"
    "\"url\":\"" T_REST_URL "/updates/4\"},"
    "\"resourceVersion\":\"1.0\"}";


int
main(void)
{
    t_created_sample();
    t_identities();
    t_deleted();
    t_incomplete();
    t_other_events();
    t_invalid();
    t_limits();
    t_non_ascii();
    t_test_button();
    t_content_type();
    t_credentials();
    t_free();

    fluid_devops_credentials_cleanup();

    printf("1..%u\n", t_run);

    if (t_failed) {
        t_diag("%u of %u tests failed", t_failed, t_run);
        return 1;
    }

    return 0;
}


static void
t_created_sample(void)
{
    json_t                     *v;
    fluid_devops_payload_t      p;
    fluid_devops_payload_rc_e   rc;

    rc = t_parse_str(&p, t_created_task);

    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK, "created sample parses");
    t_ok(p.error[0] == '\0', "created sample: no error message");
    t_ok(p.event == FLUID_DEVOPS_EVENT_CREATED, "created sample: event");
    t_text(&p.event_type, "workitem.created", "created sample: event type");
    t_ok(p.work_item_id == 1042, "created sample: work item id 1042");
    t_text(&p.title, "Reconcile duplicate ledger entries after nightly import",
           "created sample: title");
    t_text(&p.work_item_type, "Task", "created sample: work item type");
    t_text(&p.state, "To Do", "created sample: state");
    t_ok(p.has_priority && p.priority == 2, "created sample: priority 2");
    t_text(&p.tags, "backend; payments", "created sample: tags");
    t_text(&p.project, "Harbor", "created sample: project");
    t_text(&p.description, T_DESCRIPTION,
           "created sample: description kept as HTML");
    t_text(&p.url, T_HTML_URL, "created sample: url is the html link");
    t_text(&p.assigned_to, "Mireille Duchamp",
           "created sample: assigned to, cut from name and mail");
    t_ok(p.assigned_name != NULL, "created sample: cut name held");
    t_ok(json_is_object(p.fields), "created sample: fields kept");

    v = json_is_object(p.fields) ? json_object_get(p.fields, "System.Parent")
                                 : NULL;
    t_ok(json_integer_value(v) == 1037,
         "created sample: fields hold the members not parsed");
    t_ok(!p.is_test, "created sample: not a test");

    fluid_devops_payload_free(&p);
}


static void
t_identities(void)
{
    fluid_devops_payload_t      p;
    fluid_devops_payload_rc_e   rc;

    static const char  identity_object[] =
        "{\"eventType\":\"workitem.created\","
        "\"resource\":{\"id\":1042,\"fields\":{" T_TYPE_TITLE ","
        "\"System.AssignedTo\":{\"displayName\":\"Mireille Duchamp\","
        "\"url\":\"https://spsprodweu5.vssps.visualstudio.com/_apis/x\","
        "\"id\":\"6f6b7f1c-1b43-4a3c-9d0c-2f4f0d0b6a11\","
        "\"uniqueName\":\"mireille.duchamp@contoso-fab.example\","
        "\"imageUrl\":\"https://dev.azure.com/contoso-fab/_apis/avatar\","
        "\"descriptor\":\"aad.NmY2YjdmMWMtMWI0My03YTNj\"}},"
        "\"url\":\"" T_REST_URL "\"},"
        "\"resourceVersion\":\"5.1-preview.3\"}";

    rc = t_parse_str(&p, identity_object);
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK, "identity object parses");
    t_text(&p.assigned_to, "Mireille Duchamp", "identity object: displayName");
    t_ok(p.assigned_name == NULL, "identity object: no copy made");
    fluid_devops_payload_free(&p);

    rc = t_parse_fields(&p, "workitem.created", T_TYPE_TITLE ","
                        "\"System.AssignedTo\":{\"displayName\":null,"
                        "\"uniqueName\":\"mireille@contoso-fab.example\"}");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK, "identity object without name parses");
    t_text(&p.assigned_to, "mireille@contoso-fab.example",
           "identity object without displayName: uniqueName");
    fluid_devops_payload_free(&p);

    rc = t_parse_fields(&p, "workitem.created", T_TYPE_TITLE ","
                        "\"System.AssignedTo\":{\"id\":\"6f6b7f1c\"}");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK, "identity object, no names, parses");
    t_null(&p.assigned_to, "identity object without names: no one");
    fluid_devops_payload_free(&p);

    rc = t_parse_fields(&p, "workitem.created", T_TYPE_TITLE ","
                        "\"System.AssignedTo\":{\"displayName\":7}");
    t_error(&p, rc, FLUID_DEVOPS_PAYLOAD_INVALID, "displayName",
            "identity object with a number as displayName");
    fluid_devops_payload_free(&p);

    rc = t_parse_fields(&p, "workitem.created", T_TYPE_TITLE ","
                        "\"System.AssignedTo\":"
                        "\"Jamal Hartnell <CONTOSO\\\\jhartnell>\"");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK, "name and domain user parses");
    t_text(&p.assigned_to, "Jamal Hartnell",
           "name cut from \"Name <DOMAIN\\user>\"");
    fluid_devops_payload_free(&p);

    rc = t_parse_fields(&p, "workitem.created", T_TYPE_TITLE ","
                        "\"System.AssignedTo\":\"Mireille Duchamp\"");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK, "plain name parses");
    t_text(&p.assigned_to, "Mireille Duchamp", "plain name kept whole");
    t_ok(p.assigned_name == NULL, "plain name: no copy made");
    fluid_devops_payload_free(&p);

    rc = t_parse_fields(&p, "workitem.created", T_TYPE_TITLE ","
                        "\"System.AssignedTo\":\"Mireille<m@x.example>\"");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK, "name with no space before mail");
    t_text(&p.assigned_to, "Mireille", "name cut before '<' with no space");
    fluid_devops_payload_free(&p);

    rc = t_parse_fields(&p, "workitem.created", T_TYPE_TITLE ","
                        "\"System.AssignedTo\":\"<m@x.example>\"");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK, "mail alone parses");
    t_text(&p.assigned_to, "<m@x.example>", "mail alone kept whole");
    fluid_devops_payload_free(&p);

    rc = t_parse_fields(&p, "workitem.created", T_TYPE_TITLE ","
                        "\"System.AssignedTo\":\"a < b\"");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK, "name with '<' only parses");
    t_text(&p.assigned_to, "a < b", "name with no closing '>' kept whole");
    fluid_devops_payload_free(&p);

    rc = t_parse_fields(&p, "workitem.created", T_TYPE_TITLE);
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK, "no assignee parses");
    t_null(&p.assigned_to, "no assignee: NULL");
    t_ok(p.assigned_name == NULL, "no assignee: no copy made");
    fluid_devops_payload_free(&p);

    rc = t_parse_fields(&p, "workitem.created", T_TYPE_TITLE ","
                        "\"System.AssignedTo\":null");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK, "null assignee parses");
    t_null(&p.assigned_to, "null assignee: NULL");
    fluid_devops_payload_free(&p);

    rc = t_parse_fields(&p, "workitem.created", T_TYPE_TITLE ","
                        "\"System.AssignedTo\":5");
    t_error(&p, rc, FLUID_DEVOPS_PAYLOAD_INVALID, "System.AssignedTo",
            "number as assignee");
    fluid_devops_payload_free(&p);
}


static void
t_deleted(void)
{
    fluid_devops_payload_t      p;
    fluid_devops_payload_rc_e   rc;

    rc = t_parse_str(&p, t_deleted_task);

    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK, "deleted sample parses");
    t_ok(p.event == FLUID_DEVOPS_EVENT_DELETED, "deleted sample: event");
    t_text(&p.event_type, "workitem.deleted", "deleted sample: event type");
    t_ok(p.work_item_id == 1038, "deleted sample: work item id 1038");
    t_text(&p.title, "Spike: evaluate ledger archiving options",
           "deleted sample: title");
    t_text(&p.state, "To Do", "deleted sample: state");
    t_ok(p.has_priority && p.priority == 3, "deleted sample: priority 3");
    t_null(&p.assigned_to, "deleted sample: no assignee");
    t_null(&p.description, "deleted sample: no description");
    t_text(&p.url,
           "https://dev.azure.com/contoso-fab/_apis/wit/recyclebin/1038",
           "deleted sample: url falls back to resource.url");
    t_ok(p.fields != NULL, "deleted sample: fields kept");
    t_ok(!p.is_test, "deleted sample: not a test");
    fluid_devops_payload_free(&p);

    rc = t_parse_str(&p, "{\"eventType\":\"workitem.deleted\","
                         "\"resource\":{\"id\":1038,"
                         "\"url\":\"https://dev.azure.com/x/1038\"}}");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK, "deleted without fields parses");
    t_ok(p.work_item_id == 1038, "deleted without fields: work item id");
    t_ok(p.fields == NULL, "deleted without fields: fields NULL");
    t_null(&p.title, "deleted without fields: no title");
    t_ok(!p.has_priority, "deleted without fields: no priority");
    fluid_devops_payload_free(&p);

    rc = t_parse_fields(&p, "workitem.deleted", "\"System.State\":\"Done\"");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK, "deleted without title parses");
    fluid_devops_payload_free(&p);

    rc = t_parse_str(&p, "{\"eventType\":\"workitem.deleted\"}");
    t_error(&p, rc, FLUID_DEVOPS_PAYLOAD_INVALID, "\"resource\" is missing",
            "deleted without resource");
    fluid_devops_payload_free(&p);

    rc = t_parse_str(&p, "{\"eventType\":\"workitem.deleted\","
                         "\"resource\":null}");
    t_error(&p, rc, FLUID_DEVOPS_PAYLOAD_INVALID, "\"resource\" is missing",
            "deleted with null resource");
    fluid_devops_payload_free(&p);
}


static void
t_incomplete(void)
{
    fluid_devops_payload_t      p;
    fluid_devops_payload_rc_e   rc;

    static const char  minimal[] =
        "{\"subscriptionId\":\"5e57d6d6-f357-48ad-815a-0860aba0b63c\","
        "\"notificationId\":2,\"eventType\":\"workitem.created\","
        "\"publisherId\":\"tfs\","
        "\"resource\":{\"id\":1044,\"url\":"
        "\"https://dev.azure.com/contoso-fab/"
        "91833f56-5e5f-433b-ba57-88b2010df6b4/_apis/wit/workItems/1044\"},"
        "\"resourceVersion\":\"1.0\"}";

    rc = t_parse_str(&p, minimal);
    t_error(&p, rc, FLUID_DEVOPS_PAYLOAD_INCOMPLETE,
            "Resource details to send", "created with minimal resource");
    t_ok(strstr(p.error, "resource.fields") != NULL,
         "created with minimal resource: names resource.fields");
    t_ok(p.work_item_id == 1044, "created with minimal resource: id read");
    fluid_devops_payload_free(&p);

    rc = t_parse_str(&p, "{\"eventType\":\"workitem.created\","
                         "\"subscriptionId\":\"5e57d6d6\"}");
    t_error(&p, rc, FLUID_DEVOPS_PAYLOAD_INCOMPLETE,
            "Resource details to send", "created without resource");
    fluid_devops_payload_free(&p);

    rc = t_parse_str(&p, "{\"eventType\":\"workitem.created\","
                         "\"resource\":null}");
    t_error(&p, rc, FLUID_DEVOPS_PAYLOAD_INCOMPLETE,
            "Resource details to send", "created with null resource");
    fluid_devops_payload_free(&p);

    rc = t_parse_fields(&p, "workitem.created",
                        "\"System.WorkItemType\":\"Task\"");
    t_error(&p, rc, FLUID_DEVOPS_PAYLOAD_INCOMPLETE, "System.Title",
            "created without title");
    fluid_devops_payload_free(&p);

    rc = t_parse_fields(&p, "workitem.created",
                        "\"System.WorkItemType\":\"Task\","
                        "\"System.Title\":\"\"");
    t_error(&p, rc, FLUID_DEVOPS_PAYLOAD_INCOMPLETE, "System.Title",
            "created with empty title");
    fluid_devops_payload_free(&p);

    rc = t_parse_fields(&p, "workitem.created", "\"System.Title\":\"Pay\"");
    t_error(&p, rc, FLUID_DEVOPS_PAYLOAD_INCOMPLETE, "System.WorkItemType",
            "created without work item type");
    fluid_devops_payload_free(&p);
}


static void
t_other_events(void)
{
    fluid_devops_payload_t      p;
    fluid_devops_payload_rc_e   rc;

    rc = t_parse_str(&p, t_updated_task);
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK, "updated sample parses");
    t_ok(p.event == FLUID_DEVOPS_EVENT_OTHER, "updated sample: event other");
    t_text(&p.event_type, "workitem.updated", "updated sample: event type");
    t_ok(!p.is_test, "updated sample: not a test");
    t_null(&p.title, "updated sample: changed title not read as a title");
    if (rc != FLUID_DEVOPS_PAYLOAD_OK) {
        t_diag("error: %s", p.error);
    }
    fluid_devops_payload_free(&p);

    rc = t_parse_str(&p, "{\"subscriptionId\":\"" T_ZERO_GUID "\","
                         "\"eventType\":\"workitem.updated\","
                         "\"resource\":{\"id\":5,\"workItemId\":5,"
                         "\"fields\":{\"System.State\":"
                         "{\"oldValue\":\"New\",\"newValue\":\"Approved\"},"
                         "\"Microsoft.VSTS.Common.Priority\":"
                         "{\"oldValue\":2,\"newValue\":1}},"
                         "\"url\":\"" T_TEST_REST "/updates/5\"}}");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK && p.event == FLUID_DEVOPS_EVENT_OTHER
         && p.is_test, "updated sample of the Test button: a test");
    fluid_devops_payload_free(&p);

    rc = t_parse_fields(&p, "workitem.updated", "");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK, "updated with empty fields parses");
    t_ok(p.event == FLUID_DEVOPS_EVENT_OTHER, "updated: event other");
    fluid_devops_payload_free(&p);

    rc = t_parse_fields(&p, "workitem.commented", T_TYPE_TITLE);
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK, "commented parses");
    t_ok(p.event == FLUID_DEVOPS_EVENT_OTHER, "commented: event other");
    t_text(&p.event_type, "workitem.commented", "commented: event type");
    fluid_devops_payload_free(&p);

    rc = t_parse_fields(&p, "WorkItem.Created", "");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK
         && p.event == FLUID_DEVOPS_EVENT_OTHER,
         "event type compared case-sensitively");
    fluid_devops_payload_free(&p);
}


static void
t_invalid(void)
{
    size_t                      i;
    fluid_devops_payload_t      p;
    fluid_devops_payload_rc_e   rc;

    static const t_invalid_t  tests[] = {
        { "empty body", "", 0, "empty" },
        { "not JSON", "eventType=workitem.created", 0, "not valid JSON" },
        { "truncated JSON", "{\"eventType\":\"workitem.created\"", 0,
          "not valid JSON" },
        { "JSON array", "[{\"eventType\":\"workitem.created\"}]", 0,
          "not a JSON object" },
        { "JSON string", "\"workitem.created\"", 0, "not valid JSON" },
        { "trailing garbage", "{\"eventType\":\"x\"} {}", 0,
          "not valid JSON" },
        { "eventType missing", "{\"resource\":{\"id\":1}}", 0,
          "\"eventType\" is missing" },
        { "eventType given twice",
          "{\"eventType\":\"workitem.created\","
          "\"eventType\":\"workitem.deleted\",\"resource\":{\"id\":1}}", 0,
          "gives a key twice" },
        { "a field given twice",
          "{\"eventType\":\"workitem.deleted\",\"resource\":{\"id\":1,"
          "\"fields\":{\"System.Title\":\"a\",\"System.Title\":\"b\"}}}", 0,
          "gives a key twice" },
        { "eventType null", "{\"eventType\":null}", 0,
          "\"eventType\" is missing" },
        { "eventType number", "{\"eventType\":1}", 0,
          "\"eventType\" is not a non-empty string" },
        { "eventType empty", "{\"eventType\":\"\"}", 0,
          "\"eventType\" is not a non-empty string" },
        { "resource array",
          "{\"eventType\":\"workitem.created\",\"resource\":[]}", 0,
          "\"resource\" is not an object" },
        { "resource string",
          "{\"eventType\":\"workitem.deleted\",\"resource\":\"1042\"}", 0,
          "\"resource\" is not an object" },
        { "resource.id missing",
          "{\"eventType\":\"workitem.created\",\"resource\":{\"url\":\"x\"}}",
          0, "\"resource.id\" is missing" },
        { "resource.id string",
          "{\"eventType\":\"workitem.created\","
          "\"resource\":{\"id\":\"1042\"}}",
          0, "\"resource.id\" is not an integer" },
        { "resource.id real",
          "{\"eventType\":\"workitem.created\",\"resource\":{\"id\":1042.0}}",
          0, "\"resource.id\" is not an integer" },
        { "resource.id fraction",
          "{\"eventType\":\"workitem.created\",\"resource\":{\"id\":1.5}}",
          0, "\"resource.id\" is not an integer" },
        { "resource.id 0",
          "{\"eventType\":\"workitem.created\",\"resource\":{\"id\":0}}",
          0, "\"resource.id\" is out of range" },
        { "resource.id negative",
          "{\"eventType\":\"workitem.created\",\"resource\":{\"id\":-1042}}",
          0, "\"resource.id\" is out of range" },
        { "resource.id beyond int64",
          "{\"eventType\":\"workitem.created\","
          "\"resource\":{\"id\":9223372036854775808}}",
          0, "not valid JSON" },
        { "resource.url number",
          "{\"eventType\":\"workitem.created\","
          "\"resource\":{\"id\":1042,\"url\":1042}}",
          0, "\"url\" is not a string" },
        { "resource.fields array",
          "{\"eventType\":\"workitem.created\","
          "\"resource\":{\"id\":1042,\"fields\":[]}}",
          0, "\"resource.fields\" is not an object" },
        { "System.Title number",
          "{\"eventType\":\"workitem.created\",\"resource\":{\"id\":1042,"
          "\"fields\":{\"System.WorkItemType\":\"Task\","
          "\"System.Title\":42}}}",
          0, "\"System.Title\" is not a string" },
        { "System.Title object",
          "{\"eventType\":\"workitem.deleted\",\"resource\":{\"id\":1042,"
          "\"fields\":{\"System.Title\":{\"newValue\":\"Pay\"}}}}",
          0, "\"System.Title\" is not a string" },
        { "System.Description array",
          "{\"eventType\":\"workitem.created\",\"resource\":{\"id\":1042,"
          "\"fields\":{" T_TYPE_TITLE ",\"System.Description\":[]}}}",
          0, "\"System.Description\" is not a string" },
        { "priority string",
          "{\"eventType\":\"workitem.created\",\"resource\":{\"id\":1042,"
          "\"fields\":{" T_TYPE_TITLE ","
          "\"Microsoft.VSTS.Common.Priority\":\"2\"}}}",
          0, "\"Microsoft.VSTS.Common.Priority\" is not an integer" },
        { "priority real",
          "{\"eventType\":\"workitem.created\",\"resource\":{\"id\":1042,"
          "\"fields\":{" T_TYPE_TITLE ","
          "\"Microsoft.VSTS.Common.Priority\":2.0}}}",
          0, "\"Microsoft.VSTS.Common.Priority\" is not an integer" },
        { "priority beyond int32",
          "{\"eventType\":\"workitem.created\",\"resource\":{\"id\":1042,"
          "\"fields\":{" T_TYPE_TITLE ","
          "\"Microsoft.VSTS.Common.Priority\":2147483648}}}",
          0, "\"Microsoft.VSTS.Common.Priority\" is out of range" },
        { "priority below int32",
          "{\"eventType\":\"workitem.created\",\"resource\":{\"id\":1042,"
          "\"fields\":{" T_TYPE_TITLE ","
          "\"Microsoft.VSTS.Common.Priority\":-2147483649}}}",
          0, "\"Microsoft.VSTS.Common.Priority\" is out of range" },
        { "\\u0000 in a string",
          "{\"eventType\":\"workitem.created\",\"resource\":{\"id\":1042,"
          "\"fields\":{\"System.WorkItemType\":\"Task\","
          "\"System.Title\":\"Pay\\u0000rent\"}}}",
          0, "NUL" },
        { "\\u0000 in a key",
          "{\"eventType\":\"workitem.created\",\"a\\u0000b\":1}",
          0, "NUL" },
        { "raw NUL byte in a string",
          "{\"eventType\":\"workitem\0.created\"}",
          sizeof("{\"eventType\":\"workitem\0.created\"}") - 1, "NUL" },
        { "raw NUL byte between members",
          "{\"eventType\":\"workitem.created\",\0\"resource\":null}",
          sizeof("{\"eventType\":\"workitem.created\",\0\"resource\":null}")
          - 1, "NUL" },
        { "raw NUL byte after the object",
          "{\"eventType\":\"workitem.created\"}\0",
          sizeof("{\"eventType\":\"workitem.created\"}\0") - 1, "NUL" },
        { "invalid UTF-8 byte",
          "{\"eventType\":\"workitem.created\",\"x\":\"caf\xff\"}", 0,
          "UTF-8" },
        { "overlong UTF-8",
          "{\"eventType\":\"workitem.created\",\"x\":\"\xc0\xaf\"}", 0,
          "UTF-8" },
        { "truncated UTF-8",
          "{\"eventType\":\"workitem.created\",\"x\":\"\xe4\xbb\"}", 0,
          "UTF-8" },
        { "UTF-8 encoded surrogate",
          "{\"eventType\":\"workitem.created\",\"x\":\"\xed\xa0\x80\"}", 0,
          "UTF-8" },
        { "lone surrogate escape",
          "{\"eventType\":\"workitem.created\",\"x\":\"\\ud800\"}", 0,
          "not valid JSON" }
    };

    for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        rc = t_parse(&p, tests[i].body,
                     tests[i].len ? tests[i].len : strlen(tests[i].body));
        t_error(&p, rc, FLUID_DEVOPS_PAYLOAD_INVALID, tests[i].error,
                tests[i].name);
        fluid_devops_payload_free(&p);
    }
}


static void
t_limits(void)
{
    fluid_devops_payload_t      p;
    fluid_devops_payload_rc_e   rc;

    rc = t_parse_str(&p, "{\"eventType\":\"workitem.deleted\","
                         "\"resource\":{\"id\":9223372036854775807}}");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK && p.work_item_id == INT64_MAX,
         "resource.id of INT64_MAX accepted");
    fluid_devops_payload_free(&p);

    rc = t_parse_str(&p, "{\"eventType\":\"workitem.deleted\","
                         "\"resource\":{\"id\":1}}");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK && p.work_item_id == 1,
         "resource.id of 1 accepted");
    t_null(&p.url, "no url: NULL");
    fluid_devops_payload_free(&p);

    rc = t_parse_fields(&p, "workitem.created", T_TYPE_TITLE ","
                        "\"Microsoft.VSTS.Common.Priority\":2147483647");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK && p.has_priority
         && p.priority == INT32_MAX, "priority of INT32_MAX accepted");
    fluid_devops_payload_free(&p);

    rc = t_parse_fields(&p, "workitem.created", T_TYPE_TITLE ","
                        "\"Microsoft.VSTS.Common.Priority\":-2147483648");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK && p.has_priority
         && p.priority == INT32_MIN, "priority of INT32_MIN accepted");
    fluid_devops_payload_free(&p);

    rc = t_parse_fields(&p, "workitem.created", T_TYPE_TITLE ","
                        "\"Microsoft.VSTS.Common.Priority\":null,"
                        "\"System.State\":null,\"System.Tags\":null");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK && !p.has_priority,
         "null priority: none");
    t_null(&p.state, "null state: NULL");
    t_null(&p.tags, "null tags: NULL");
    fluid_devops_payload_free(&p);

    rc = t_parse_fields(&p, "workitem.created", T_TYPE_TITLE ","
                        "\"System.Tags\":\"\"");
    t_text(&p.tags, "", "empty tags kept as an empty string");
    fluid_devops_payload_free(&p);

    rc = t_parse_str(&p, "{\"eventType\":\"workitem.created\","
                         "\"resource\":{\"id\":1042,"
                         "\"_links\":{\"html\":{\"href\":42}},"
                         "\"url\":\"" T_REST_URL "\","
                         "\"fields\":{" T_TYPE_TITLE "}}}");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK, "html link not a string: parses");
    t_text(&p.url, T_REST_URL, "html link not a string: resource.url used");
    fluid_devops_payload_free(&p);

    rc = t_parse_str(&p, "{\"eventType\":\"workitem.created\","
                         "\"resource\":{\"id\":1042,"
                         "\"url\":\"" T_REST_URL "\","
                         "\"fields\":{" T_TYPE_TITLE "}}}\r\n");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK, "trailing white space accepted");
    fluid_devops_payload_free(&p);
}


static void
t_non_ascii(void)
{
    fluid_devops_payload_t      p;
    fluid_devops_payload_rc_e   rc;

    rc = t_parse_fields(&p, "workitem.created",
                        "\"System.WorkItemType\":\"任务\","
                        "\"System.Title\":\"Régler la facture d’été\","
                        "\"System.Tags\":\"finance; 支付\","
                        "\"System.AssignedTo\":"
                        "\"Zoë Ångström <zoe@contoso-fab.example>\"");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK, "non-ASCII fields parse");
    t_text(&p.work_item_type, "\xe4\xbb\xbb\xe5\x8a\xa1",
           "Chinese work item type kept byte-exact");
    t_ok(p.work_item_type.len == 6, "Chinese work item type: 6 bytes");
    t_text(&p.title, "R\xc3\xa9gler la facture d\xe2\x80\x99\xc3\xa9t\xc3\xa9",
           "title with accents kept byte-exact");
    t_text(&p.tags, "finance; 支付", "tags with Chinese kept");
    t_text(&p.assigned_to, "Zo\xc3\xab \xc3\x85ngstr\xc3\xb6m",
           "non-ASCII name cut from name and mail");
    fluid_devops_payload_free(&p);

    rc = t_parse_fields(&p, "workitem.created",
                        "\"System.WorkItemType\":\"\\u4efb\\u52a1\","
                        "\"System.Title\":\"caf\\u00e9 \\ud83d\\ude00\"");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK, "escaped non-ASCII fields parse");
    t_text(&p.work_item_type, "\xe4\xbb\xbb\xe5\x8a\xa1",
           "escaped Chinese work item type decoded to UTF-8");
    t_text(&p.title, "caf\xc3\xa9 \xf0\x9f\x98\x80",
           "escaped accent and surrogate pair decoded to UTF-8");
    fluid_devops_payload_free(&p);
}


static void
t_test_button(void)
{
    fluid_devops_payload_t      p;
    fluid_devops_payload_rc_e   rc;

    static const char  sample[] =
        "{\"subscriptionId\":\"" T_ZERO_GUID "\",\"notificationId\":1,"
        "\"id\":\"d2d46fb1-dba5-403c-9373-427583f19e8c\","
        "\"eventType\":\"workitem.created\",\"publisherId\":\"tfs\","
        "\"resource\":{\"id\":5,\"rev\":1,\"fields\":{"
        "\"System.AreaPath\":\"FabrikamCloud\","
        "\"System.TeamProject\":\"FabrikamCloud\","
        "\"System.WorkItemType\":\"Product Backlog Item\","
        "\"System.State\":\"New\","
        "\"System.CreatedBy\":\"Jamal Hartnell\","
        "\"System.Title\":\"Some great new idea!\","
        "\"Microsoft.VSTS.Common.Severity\":\"3 - Medium\"},"
        "\"_links\":{\"html\":{\"href\":"
        "\"http://fabrikam-fiber-inc.visualstudio.com/web/wi.aspx"
        "?pcguid=d81542e4-cdfa-4333-b082-1ae2d6c3ad16&id=5\"}},"
        "\"url\":\"" T_TEST_REST "\"},"
        "\"resourceVersion\":\"1.0\"}";

    rc = t_parse_str(&p, sample);
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK, "Test button sample parses");
    t_ok(p.is_test, "Test button sample: is a test");
    t_text(&p.work_item_type, "Product Backlog Item",
           "Test button sample: work item type");
    fluid_devops_payload_free(&p);

    rc = t_parse_test(&p, T_ZERO_GUID, NULL, T_REST_URL);
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK && p.is_test,
         "zero subscriptionId: test");
    fluid_devops_payload_free(&p);

    rc = t_parse_test(&p, "00000000-0000-0000-0000-000000000001", NULL,
                      T_REST_URL);
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK && !p.is_test,
         "subscriptionId almost zero: not a test");
    fluid_devops_payload_free(&p);

    rc = t_parse_test(&p, "fc9393b2-e47d-40a6-881b-4c3800732846", NULL,
                      T_TEST_REST);
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK && p.is_test,
         "resource.url at the demo organisation: test");
    t_text(&p.url, T_TEST_REST, "demo resource.url kept as url");
    fluid_devops_payload_free(&p);

    rc = t_parse_test(&p, "fc9393b2-e47d-40a6-881b-4c3800732846",
                      "http://fabrikam-fiber-inc.visualstudio.com/web/wi.aspx"
                      "?id=5", T_REST_URL);
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK && p.is_test,
         "html link at the demo organisation: test");
    fluid_devops_payload_free(&p);

    rc = t_parse_test(&p, "fc9393b2-e47d-40a6-881b-4c3800732846", NULL,
                      "HTTPS://Fabrikam-Fiber-Inc.VisualStudio.com:443/x");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK && p.is_test,
         "demo host over https, in capitals, with a port: test");
    fluid_devops_payload_free(&p);

    rc = t_parse_test(&p, "fc9393b2-e47d-40a6-881b-4c3800732846", NULL,
                      "http://fabrikam-fiber-inc.visualstudio.com");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK && p.is_test,
         "demo host with no path: test");
    fluid_devops_payload_free(&p);

    rc = t_parse_test(&p, "fc9393b2-e47d-40a6-881b-4c3800732846", NULL,
                      "http://fabrikam-fiber-inc.visualstudio.com.evil.example"
                      "/DefaultCollection/_apis/wit/workItems/5");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK && !p.is_test,
         "host only starting with the demo host: not a test");
    fluid_devops_payload_free(&p);

    rc = t_parse_test(&p, "fc9393b2-e47d-40a6-881b-4c3800732846",
                      "https://fabrikam-fiber-inc.visualstudio.com"
                      ".evil.example/web/wi.aspx?id=5", T_REST_URL);
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK && !p.is_test,
         "html link only starting with the demo host: not a test");
    fluid_devops_payload_free(&p);

    rc = t_parse_test(&p, "fc9393b2-e47d-40a6-881b-4c3800732846", NULL,
                      "http://fabrikam-fiber-inc.visualstudio.com@evil.example"
                      "/DefaultCollection/");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK && !p.is_test,
         "demo host as user info: not a test");
    fluid_devops_payload_free(&p);

    rc = t_parse_test(&p, "fc9393b2-e47d-40a6-881b-4c3800732846", NULL,
                      "https://evil.example/"
                      "fabrikam-fiber-inc.visualstudio.com/Default/");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK && !p.is_test,
         "demo host in the path: not a test");
    fluid_devops_payload_free(&p);

    rc = t_parse_test(&p, "fc9393b2-e47d-40a6-881b-4c3800732846", NULL,
                      "ftp://fabrikam-fiber-inc.visualstudio.com/x");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK && !p.is_test,
         "demo host over another scheme: not a test");
    fluid_devops_payload_free(&p);
}


static void
t_content_type(void)
{
    size_t  i;

    static const struct {
        const char  *value;
        int          json;
    } tests[] = {
        { "application/json", 1 },
        { "application/json; charset=utf-8", 1 },
        { "application/json;charset=UTF-8", 1 },
        { "application/json ; charset=utf-8", 1 },
        { "Application/JSON", 1 },
        { "application/vnd.api+json", 1 },
        { "application/VND.API+JSON; charset=utf-8", 1 },
        { "application/problem+json", 1 },
        { " application/json ", 1 },
        { "\tapplication/json\t;q=1", 1 },
        { "application/json;", 1 },
        { "text/plain", 0 },
        { "text/json", 0 },
        { "application/jsonx", 0 },
        { "application/json5", 0 },
        { "application/x-json-stream", 0 },
        { "application/vnd.api+jsonx", 0 },
        { "application/x-www-form-urlencoded", 0 },
        { "+json", 0 },
        { "application/+json", 0 },
        { "/vnd+json", 0 },
        { "json", 0 },
        { "application", 0 },
        { "; charset=utf-8", 0 },
        { "   ", 0 },
        { "", 0 }
    };

    for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        t_ok(fluid_devops_content_type_is_json(tests[i].value,
                                               strlen(tests[i].value))
             == tests[i].json,
             "content type \"%s\" %s", tests[i].value,
             tests[i].json ? "is JSON" : "is not JSON");
    }

    t_ok(fluid_devops_content_type_is_json("application/json/x", 16),
         "content type: only len bytes read (longer buffer)");
    t_ok(!fluid_devops_content_type_is_json("application/json", 15),
         "content type: only len bytes read (cut short)");
}


static void
t_credentials(void)
{
    int                             distinct;
    size_t                          i, j;
    const char                     *s, *msg[7];
    unsigned char                   hash[FLUID_DEVOPS_TOKEN_HASH_LEN];
    unsigned char                   user[FLUID_DEVOPS_USERNAME_MAX + 1];
    unsigned char                   token[FLUID_DEVOPS_TOKEN_MAX + 1];
    fluid_devops_credentials_rc_e   rc;

    static const unsigned char  sha_abc[FLUID_DEVOPS_TOKEN_HASH_LEN] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
        0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
        0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
        0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad
    };

    static const unsigned char  sha_fox[FLUID_DEVOPS_TOKEN_HASH_LEN] = {
        0xd7, 0xa8, 0xfb, 0xb3, 0x07, 0xd7, 0x80, 0x94,
        0x69, 0xca, 0x9a, 0xbc, 0xb0, 0x08, 0x2e, 0x4f,
        0x8d, 0x56, 0x51, 0xe4, 0x6d, 0x3c, 0xdb, 0x76,
        0x2d, 0x02, 0xd0, 0xbf, 0x37, 0xc9, 0xe5, 0x92
    };

    /* SHA-256 of the UTF-8 bytes of "été" */
    static const unsigned char  sha_ete[FLUID_DEVOPS_TOKEN_HASH_LEN] = {
        0xbd, 0x01, 0x0c, 0x64, 0x13, 0x2b, 0xf5, 0xca,
        0xe8, 0xae, 0xa8, 0x9f, 0x67, 0x62, 0x51, 0x57,
        0x27, 0xdc, 0xf6, 0x8a, 0x5d, 0xd1, 0xde, 0x81,
        0x3c, 0x87, 0xf5, 0x0a, 0x16, 0xc4, 0x51, 0x3c
    };

    static const struct {
        const char                     *name;
        const char                     *user;
        size_t                          user_len;
        const char                     *token;
        size_t                          token_len;
        fluid_devops_credentials_rc_e   rc;
    } tests[] = {
        { "empty user name", "", 0, "abc", 3,
          FLUID_DEVOPS_CREDENTIALS_NO_USERNAME },
        { "empty user name and token", "", 0, "", 0,
          FLUID_DEVOPS_CREDENTIALS_NO_USERNAME },
        { "empty token", "fluid-bot", 9, "", 0,
          FLUID_DEVOPS_CREDENTIALS_NO_TOKEN },
        { "user name with a tab", "fluid\tbot", 9, "abc", 3,
          FLUID_DEVOPS_CREDENTIALS_BAD_USERNAME },
        { "user name with a line feed", "fluid\nbot", 9, "abc", 3,
          FLUID_DEVOPS_CREDENTIALS_BAD_USERNAME },
        { "user name with a NUL byte", "fluid\0bot", 9, "abc", 3,
          FLUID_DEVOPS_CREDENTIALS_BAD_USERNAME },
        { "user name with 0x01", "\x01", 1, "abc", 3,
          FLUID_DEVOPS_CREDENTIALS_BAD_USERNAME },
        { "user name with 0x1f", "bot\x1f", 4, "abc", 3,
          FLUID_DEVOPS_CREDENTIALS_BAD_USERNAME },
        { "user name with DEL", "bot\x7f", 4, "abc", 3,
          FLUID_DEVOPS_CREDENTIALS_BAD_USERNAME },
        { "bad user name and empty token", "a\rb", 3, "", 0,
          FLUID_DEVOPS_CREDENTIALS_BAD_USERNAME },
        { "token with a carriage return", "fluid-bot", 9, "abc\r", 4,
          FLUID_DEVOPS_CREDENTIALS_BAD_TOKEN },
        { "token with a NUL byte", "fluid-bot", 9, "ab\0c", 4,
          FLUID_DEVOPS_CREDENTIALS_BAD_TOKEN },
        { "token with 0x1f", "fluid-bot", 9, "\x1f" "abc", 4,
          FLUID_DEVOPS_CREDENTIALS_BAD_TOKEN },
        { "token with DEL", "fluid-bot", 9, "abc\x7f", 4,
          FLUID_DEVOPS_CREDENTIALS_BAD_TOKEN },
        { "user name with a space", "Fluid Bot", 9, "abc", 3,
          FLUID_DEVOPS_CREDENTIALS_OK },
        { "UTF-8 user name", "Zo\xc3\xab \xe4\xbb\xbb", 8, "abc", 3,
          FLUID_DEVOPS_CREDENTIALS_OK },
        { "user name not UTF-8 (0x80 0xff)", "\x80\xff", 2, "abc", 3,
          FLUID_DEVOPS_CREDENTIALS_BAD_USERNAME },
        { "Latin-1 user name", "jos\xe9", 4, "abc", 3,
          FLUID_DEVOPS_CREDENTIALS_BAD_USERNAME },
        { "overlong UTF-8 in the user name", "\xc0\xaf", 2, "abc", 3,
          FLUID_DEVOPS_CREDENTIALS_BAD_USERNAME },
        { "UTF-8 surrogate in the user name", "\xed\xa0\x80", 3, "abc", 3,
          FLUID_DEVOPS_CREDENTIALS_BAD_USERNAME },
        { "truncated UTF-8 in the user name", "ab\xe4\xbb", 4, "abc", 3,
          FLUID_DEVOPS_CREDENTIALS_BAD_USERNAME },
        { "four-byte UTF-8 user name", "\xf0\x9f\x92\xb6", 4, "abc", 3,
          FLUID_DEVOPS_CREDENTIALS_OK },
        { "token bytes 0x80 and 0xff", "fluid-bot", 9, "\xff\x80", 2,
          FLUID_DEVOPS_CREDENTIALS_OK },
        { "token with '~' and ':'", "fluid-bot", 9, "~a:b~", 5,
          FLUID_DEVOPS_CREDENTIALS_OK }
    };

    rc = fluid_devops_credentials_hash((const unsigned char *) "fluid-bot", 9,
                                       (const unsigned char *) "abc", 3,
                                       hash);
    t_ok(rc == FLUID_DEVOPS_CREDENTIALS_OK, "credentials accepted");
    t_ok(memcmp(hash, sha_abc, sizeof(hash)) == 0,
         "token hash is SHA-256(\"abc\")");

    s = "The quick brown fox jumps over the lazy dog";
    rc = fluid_devops_credentials_hash((const unsigned char *) "fluid-bot", 9,
                                       (const unsigned char *) s, strlen(s),
                                       hash);
    t_ok(rc == FLUID_DEVOPS_CREDENTIALS_OK
         && memcmp(hash, sha_fox, sizeof(hash)) == 0,
         "token with spaces hashed as its bytes");

    rc = fluid_devops_credentials_hash((const unsigned char *) "fluid-bot", 9,
                                       (const unsigned char *)
                                           "\xc3\xa9t\xc3\xa9", 5,
                                       hash);
    t_ok(rc == FLUID_DEVOPS_CREDENTIALS_OK
         && memcmp(hash, sha_ete, sizeof(hash)) == 0,
         "UTF-8 token hashed as its bytes");

    for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        rc = fluid_devops_credentials_hash(
                 (const unsigned char *) tests[i].user, tests[i].user_len,
                 (const unsigned char *) tests[i].token, tests[i].token_len,
                 hash);
        t_ok(rc == tests[i].rc, "credentials: %s", tests[i].name);
        if (rc != tests[i].rc) {
            t_diag("got %d (%s)", (int) rc,
                   fluid_devops_credentials_strerror(rc));
        }
    }

    memset(user, 'u', sizeof(user));
    memset(token, 't', sizeof(token));

    rc = fluid_devops_credentials_hash(user, FLUID_DEVOPS_USERNAME_MAX,
                                       token, FLUID_DEVOPS_TOKEN_MAX, hash);
    t_ok(rc == FLUID_DEVOPS_CREDENTIALS_OK,
         "user name and token of the longest length accepted");

    rc = fluid_devops_credentials_hash(user, FLUID_DEVOPS_USERNAME_MAX + 1,
                                       token, 3, hash);
    t_ok(rc == FLUID_DEVOPS_CREDENTIALS_BAD_USERNAME,
         "user name one byte too long");

    rc = fluid_devops_credentials_hash(user, 3, token,
                                       FLUID_DEVOPS_TOKEN_MAX + 1, hash);
    t_ok(rc == FLUID_DEVOPS_CREDENTIALS_BAD_TOKEN, "token one byte too long");

    msg[0] = fluid_devops_credentials_strerror(FLUID_DEVOPS_CREDENTIALS_OK);
    msg[1] = fluid_devops_credentials_strerror(
                 FLUID_DEVOPS_CREDENTIALS_NO_USERNAME);
    msg[2] = fluid_devops_credentials_strerror(
                 FLUID_DEVOPS_CREDENTIALS_BAD_USERNAME);
    msg[3] = fluid_devops_credentials_strerror(
                 FLUID_DEVOPS_CREDENTIALS_NO_TOKEN);
    msg[4] = fluid_devops_credentials_strerror(
                 FLUID_DEVOPS_CREDENTIALS_BAD_TOKEN);
    msg[5] = fluid_devops_credentials_strerror(FLUID_DEVOPS_CREDENTIALS_ERROR);
    msg[6] = fluid_devops_credentials_strerror(
                 (fluid_devops_credentials_rc_e) 99);

    distinct = 1;

    for (i = 0; i < 7; i++) {
        t_ok(msg[i] != NULL && msg[i][0] != '\0',
             "credentials strerror of code %d is not empty",
             i < 6 ? (int) i : 99);

        for (j = 0; j < i && i < 6; j++) {
            if (msg[i] && msg[j] && strcmp(msg[i], msg[j]) == 0) {
                distinct = 0;
            }
        }
    }

    t_ok(distinct, "credentials strerror differs for each code");
}


static void
t_free(void)
{
    fluid_devops_payload_t      p;
    fluid_devops_payload_rc_e   rc;

    memset(&p, 0, sizeof(fluid_devops_payload_t));
    fluid_devops_payload_free(&p);
    t_ok(p.root == NULL, "free of a zeroed payload");

    rc = t_parse_str(&p, "not json");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_INVALID && p.root == NULL,
         "failed JSON parse leaves no document");
    fluid_devops_payload_free(&p);
    t_ok(p.root == NULL, "free after a failed JSON parse");

    rc = t_parse_str(&p, "[1, 2, 3]");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_INVALID && p.root != NULL,
         "failed check keeps the document");
    fluid_devops_payload_free(&p);
    t_ok(p.root == NULL, "free after a failed check");

    rc = t_parse_fields(&p, "workitem.created", T_TYPE_TITLE ","
                        "\"System.AssignedTo\":\"Mireille <m@x.example>\","
                        "\"Microsoft.VSTS.Common.Priority\":\"high\"");
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_INVALID && p.assigned_name != NULL,
         "failure after the name was cut");
    fluid_devops_payload_free(&p);
    t_ok(p.root == NULL && p.assigned_name == NULL,
         "free after a failure with a cut name");

    rc = t_parse_str(&p, t_created_task);
    fluid_devops_payload_free(&p);
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK && p.root == NULL
         && p.assigned_name == NULL, "free after success");

    fluid_devops_payload_free(&p);
    t_ok(p.root == NULL, "second free is harmless");

    rc = t_parse_str(&p, t_deleted_task);
    t_ok(rc == FLUID_DEVOPS_PAYLOAD_OK && p.work_item_id == 1038,
         "payload reused after free");
    fluid_devops_payload_free(&p);
}


static void
t_ok(int pass, const char *fmt, ...)
{
    va_list  args;

    t_run++;

    if (!pass) {
        t_failed++;
    }

    printf("%sok %u - ", pass ? "" : "not ", t_run);

    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);

    printf("\n");
}


static void
t_diag(const char *fmt, ...)
{
    va_list  args;

    printf("# ");

    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);

    printf("\n");
}


/* the text holds exactly the bytes expected, and a NUL after them */

static void
t_text(fluid_devops_text_t *text, const char *expect, const char *name)
{
    size_t  n;
    int     pass;

    n = strlen(expect);

    pass = text->data != NULL
           && text->len == n
           && memcmp(text->data, expect, n) == 0
           && text->data[n] == '\0';

    t_ok(pass, "%s", name);

    if (!pass) {
        t_diag("expected \"%s\"", expect);
        t_diag("     got \"%s\" (%zu bytes)",
               text->data ? text->data : "(null)", text->len);
    }
}


static void
t_null(fluid_devops_text_t *text, const char *name)
{
    t_ok(text->data == NULL && text->len == 0, "%s", name);

    if (text->data) {
        t_diag("got \"%s\"", text->data);
    }
}


static void
t_error(fluid_devops_payload_t *p, fluid_devops_payload_rc_e rc,
    fluid_devops_payload_rc_e expect, const char *part, const char *name)
{
    int  pass;

    pass = rc == expect && strstr(p->error, part) != NULL;

    t_ok(pass, "%s: %s", name,
         expect == FLUID_DEVOPS_PAYLOAD_INVALID ? "invalid" : "incomplete");

    if (!pass) {
        t_diag("expected %d with \"%s\"", (int) expect, part);
        t_diag("     got %d with \"%s\"", (int) rc, p->error);
    }
}


/*
 * parses from a copy of exactly len bytes, with no NUL after them, that is
 * overwritten and freed before the result is looked at: the parser must
 * neither read past len nor keep pointers into the body
 */

static fluid_devops_payload_rc_e
t_parse(fluid_devops_payload_t *p, const char *body, size_t len)
{
    char                       *copy;
    fluid_devops_payload_rc_e   rc;

    copy = malloc(len ? len : 1);
    if (copy == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }

    memcpy(copy, body, len);

    rc = fluid_devops_payload_parse(p, copy, len);

    memset(copy, 'X', len);
    free(copy);

    return rc;
}


static fluid_devops_payload_rc_e
t_parse_str(fluid_devops_payload_t *p, const char *body)
{
    return t_parse(p, body, strlen(body));
}


/* an event on work item 1042 with the resource.fields members given */

static fluid_devops_payload_rc_e
t_parse_fields(fluid_devops_payload_t *p, const char *event,
    const char *fields)
{
    int   n;
    char  buf[4096];

    n = snprintf(buf, sizeof(buf),
                 "{\"subscriptionId\":"
                 "\"fc9393b2-e47d-40a6-881b-4c3800732846\","
                 "\"eventType\":\"%s\",\"publisherId\":\"tfs\","
                 "\"resource\":{\"id\":1042,\"rev\":1,\"fields\":{%s},"
                 "\"url\":\"" T_REST_URL "\"},"
                 "\"resourceVersion\":\"1.0\"}",
                 event, fields);

    if (n < 0 || (size_t) n >= sizeof(buf)) {
        fprintf(stderr, "test payload too long\n");
        exit(2);
    }

    return t_parse(p, buf, n);
}


/* a created event with the subscription, html link and REST URL given */

static fluid_devops_payload_rc_e
t_parse_test(fluid_devops_payload_t *p, const char *subscription,
    const char *html, const char *rest)
{
    int   n;
    char  links[1024], buf[4096];

    links[0] = '\0';

    if (html) {
        n = snprintf(links, sizeof(links),
                     "\"_links\":{\"html\":{\"href\":\"%s\"}},", html);

        if (n < 0 || (size_t) n >= sizeof(links)) {
            fprintf(stderr, "test link too long\n");
            exit(2);
        }
    }

    n = snprintf(buf, sizeof(buf),
                 "{\"subscriptionId\":\"%s\","
                 "\"eventType\":\"workitem.created\",\"publisherId\":\"tfs\","
                 "\"resource\":{\"id\":5,\"rev\":1,"
                 "\"fields\":{" T_TYPE_TITLE "},%s\"url\":\"%s\"},"
                 "\"resourceVersion\":\"1.0\"}",
                 subscription, links, rest);

    if (n < 0 || (size_t) n >= sizeof(buf)) {
        fprintf(stderr, "test payload too long\n");
        exit(2);
    }

    return t_parse(p, buf, n);
}
