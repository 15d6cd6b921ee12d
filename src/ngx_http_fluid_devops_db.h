/*
 * The module's PostgreSQL side: connection strings read at configuration
 * time, and per worker a pool of libpq connections driven by nginx's event
 * loop that runs one prepared statement per delivery without blocking.
 */

#ifndef _NGX_HTTP_FLUID_DEVOPS_DB_H_INCLUDED_
#define _NGX_HTTP_FLUID_DEVOPS_DB_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <libpq-fe.h>


/* the parameters of the delivery statement, in order */
enum {
    NGX_HTTP_FLUID_DEVOPS_P_TOKEN_HASH = 0,   /* bytea, binary */
    NGX_HTTP_FLUID_DEVOPS_P_USERNAME,
    NGX_HTTP_FLUID_DEVOPS_P_WORKSPACE,
    NGX_HTTP_FLUID_DEVOPS_P_BOARD,
    NGX_HTTP_FLUID_DEVOPS_P_EVENT,
    NGX_HTTP_FLUID_DEVOPS_P_IS_TEST,
    NGX_HTTP_FLUID_DEVOPS_P_WORK_ITEM_ID,
    NGX_HTTP_FLUID_DEVOPS_P_WORK_ITEM_TYPE,
    NGX_HTTP_FLUID_DEVOPS_P_TITLE,
    NGX_HTTP_FLUID_DEVOPS_P_DESCRIPTION,
    NGX_HTTP_FLUID_DEVOPS_P_STATE,
    NGX_HTTP_FLUID_DEVOPS_P_PRIORITY,
    NGX_HTTP_FLUID_DEVOPS_P_ASSIGNED_TO,
    NGX_HTTP_FLUID_DEVOPS_P_TAGS,
    NGX_HTTP_FLUID_DEVOPS_P_PROJECT,
    NGX_HTTP_FLUID_DEVOPS_P_URL,
    NGX_HTTP_FLUID_DEVOPS_P_BODY,             /* jsonb, the body as sent */
    NGX_HTTP_FLUID_DEVOPS_NPARAMS
};

/* the columns of its one result row */
#define NGX_HTTP_FLUID_DEVOPS_COL_STATUS   0
#define NGX_HTTP_FLUID_DEVOPS_COL_CARD_ID  1
#define NGX_HTTP_FLUID_DEVOPS_COL_DETAIL   2


typedef struct ngx_http_fluid_devops_db_s     ngx_http_fluid_devops_db_t;
typedef struct ngx_http_fluid_devops_conn_s   ngx_http_fluid_devops_conn_t;
typedef struct ngx_http_fluid_devops_query_s  ngx_http_fluid_devops_query_t;

typedef void (*ngx_http_fluid_devops_query_handler_pt)(
    ngx_http_fluid_devops_query_t *q, PGresult *res);


/* what went wrong, when a query produced no result row */
typedef enum {
    NGX_HTTP_FLUID_DEVOPS_DB_OK = 0,
    NGX_HTTP_FLUID_DEVOPS_DB_UNAVAILABLE,      /* answered 503 */
    NGX_HTTP_FLUID_DEVOPS_DB_FAILED            /* answered 500 */
} ngx_http_fluid_devops_db_rc_e;


/* a connection string as configured, parsed by libpq */
typedef struct {
    ngx_str_t                        text;
    ngx_str_t                        display;     /* no password */
    ngx_array_t                      keywords;    /* const char * */
    ngx_array_t                      values;      /* const char * */
} ngx_http_fluid_devops_conninfo_t;


/* how a pool behaves; a pool exists per distinct conninfo and settings */
typedef struct {
    ngx_msec_t                       connect_timeout;
    ngx_msec_t                       query_timeout;
    ngx_msec_t                       wait_timeout;
    ngx_msec_t                       idle_timeout;
    ngx_msec_t                       max_lifetime;
    ngx_uint_t                       max_conns;
    ngx_uint_t                       max_waiting;
    ngx_flag_t                       prepare;
} ngx_http_fluid_devops_pool_conf_t;


struct ngx_http_fluid_devops_query_s {
    ngx_http_fluid_devops_db_t              *db;
    ngx_http_fluid_devops_conn_t            *conn;

    const char                              *values[
                                                NGX_HTTP_FLUID_DEVOPS_NPARAMS];
    int                                      lengths[
                                                NGX_HTTP_FLUID_DEVOPS_NPARAMS];
    int                                      formats[
                                                NGX_HTTP_FLUID_DEVOPS_NPARAMS];

    ngx_http_fluid_devops_query_handler_pt   handler;
    void                                    *data;
    ngx_log_t                               *log;

    ngx_http_fluid_devops_db_rc_e            rc;

    ngx_queue_t                              queue;
    ngx_event_t                              wait;

    unsigned                                 waiting:1;
    unsigned                                 retried:1;
    unsigned                                 done:1;
};


char *ngx_http_fluid_devops_db_parse(ngx_conf_t *cf, ngx_str_t *text,
    ngx_http_fluid_devops_conninfo_t **ci);
ngx_http_fluid_devops_db_t *ngx_http_fluid_devops_db_get(ngx_conf_t *cf,
    ngx_array_t *dbs, ngx_http_fluid_devops_conninfo_t *ci,
    ngx_http_fluid_devops_pool_conf_t *pc);

void ngx_http_fluid_devops_db_query(ngx_http_fluid_devops_query_t *q);
void ngx_http_fluid_devops_db_abandon(ngx_http_fluid_devops_query_t *q);

void ngx_http_fluid_devops_db_exit(ngx_array_t *dbs);


#endif /* _NGX_HTTP_FLUID_DEVOPS_DB_H_INCLUDED_ */
