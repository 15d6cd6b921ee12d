/*
 * The Azure DevOps work item event payload, parsed and checked: plain C on
 * jansson, with no nginx types, so it can be unit-tested and fuzzed alone.
 */

#ifndef _FLUID_DEVOPS_PAYLOAD_H_INCLUDED_
#define _FLUID_DEVOPS_PAYLOAD_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <jansson.h>


#define FLUID_DEVOPS_PAYLOAD_ERRLEN  256


typedef enum {
    FLUID_DEVOPS_PAYLOAD_OK = 0,
    FLUID_DEVOPS_PAYLOAD_INVALID,        /* malformed: answered 400 */
    FLUID_DEVOPS_PAYLOAD_INCOMPLETE,     /* too few details: answered 422 */
    FLUID_DEVOPS_PAYLOAD_NOMEM
} fluid_devops_payload_rc_e;


typedef enum {
    FLUID_DEVOPS_EVENT_CREATED = 0,
    FLUID_DEVOPS_EVENT_DELETED,
    FLUID_DEVOPS_EVENT_OTHER
} fluid_devops_event_e;


/* a string inside the parsed document: NUL-terminated, NULL when absent */
typedef struct {
    const char               *data;
    size_t                    len;
} fluid_devops_text_t;


typedef struct {
    json_t                   *root;

    fluid_devops_event_e      event;
    fluid_devops_text_t       event_type;
    int64_t                   work_item_id;
    int                       is_test;

    fluid_devops_text_t       work_item_type;
    fluid_devops_text_t       title;
    fluid_devops_text_t       description;
    fluid_devops_text_t       state;
    fluid_devops_text_t       tags;
    fluid_devops_text_t       project;
    fluid_devops_text_t       url;

    /* the display name, held by assigned_name when cut from "Name <mail>" */
    fluid_devops_text_t       assigned_to;
    json_t                   *assigned_name;

    int                       has_priority;
    int32_t                   priority;

    /* resource.fields, when present */
    json_t                   *fields;

    char                      error[FLUID_DEVOPS_PAYLOAD_ERRLEN];
} fluid_devops_payload_t;


fluid_devops_payload_rc_e fluid_devops_payload_parse(
    fluid_devops_payload_t *p, const char *buf, size_t len);
void fluid_devops_payload_free(fluid_devops_payload_t *p);

int fluid_devops_content_type_is_json(const char *value, size_t len);


#endif /* _FLUID_DEVOPS_PAYLOAD_H_INCLUDED_ */
