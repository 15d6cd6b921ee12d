/*
 * ngx_http_fluid_devops_module: receives Azure DevOps work item service hook
 * deliveries and turns them into Fluid cards.  This file holds the
 * directives, the request side (checks, body, answer) and the variables;
 * the database side is in ngx_http_fluid_devops_db.c.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_fluid_devops_module.h"


#define NGX_HTTP_FLUID_DEVOPS_RETRY_AFTER    "5"
#define NGX_HTTP_FLUID_DEVOPS_REASON_LEN     512
#define NGX_HTTP_FLUID_DEVOPS_UNPROCESSABLE  422


static ngx_int_t ngx_http_fluid_devops_handler(ngx_http_request_t *r);
static void ngx_http_fluid_devops_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_fluid_devops_id(ngx_http_request_t *r,
    ngx_http_complex_value_t *cv, ngx_str_t *id);
static ngx_int_t ngx_http_fluid_devops_credentials(ngx_http_request_t *r,
    ngx_http_fluid_devops_ctx_t *ctx, const char **why);
static ngx_int_t ngx_http_fluid_devops_content_type(ngx_http_request_t *r);
static ngx_int_t ngx_http_fluid_devops_read_body(ngx_http_request_t *r,
    u_char **body, size_t *len);
static ngx_int_t ngx_http_fluid_devops_start_query(ngx_http_request_t *r,
    ngx_http_fluid_devops_ctx_t *ctx, ngx_http_fluid_devops_loc_conf_t *flcf,
    u_char *body);
static void ngx_http_fluid_devops_query_done(ngx_http_fluid_devops_query_t *q,
    PGresult *res);
static ngx_int_t ngx_http_fluid_devops_outcome(ngx_http_request_t *r,
    ngx_http_fluid_devops_ctx_t *ctx, PGresult *res);
static void ngx_http_fluid_devops_text(u_char *buf, size_t size,
    const char *fmt, ...);
static void ngx_http_fluid_devops_cleanup(void *data);

static ngx_int_t ngx_http_fluid_devops_refuse(ngx_http_request_t *r,
    ngx_uint_t level, ngx_uint_t status, const char *reason, const char *why);
static ngx_int_t ngx_http_fluid_devops_send(ngx_http_request_t *r,
    ngx_uint_t status, const char *state, int64_t card_id, json_t *extra);
static ngx_int_t ngx_http_fluid_devops_header(ngx_http_request_t *r,
    const char *name, const char *value);

static ngx_int_t ngx_http_fluid_devops_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_fluid_devops_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_fluid_devops_card_id_variable(
    ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data);

static void *ngx_http_fluid_devops_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_fluid_devops_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_fluid_devops_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_fluid_devops_webhook(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_fluid_devops_database(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static void ngx_http_fluid_devops_exit_process(ngx_cycle_t *cycle);
static void ngx_http_fluid_devops_exit_master(ngx_cycle_t *cycle);


static ngx_conf_num_bounds_t  ngx_http_fluid_devops_pool_bounds = {
    ngx_conf_check_num_bounds, 1, 65535
};


static ngx_command_t  ngx_http_fluid_devops_commands[] = {

    { ngx_string("fluid_devops_webhook"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_fluid_devops_webhook,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("fluid_devops_database"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_fluid_devops_database,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("fluid_devops_workspace"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_fluid_devops_loc_conf_t, workspace),
      NULL },

    { ngx_string("fluid_devops_board"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_fluid_devops_loc_conf_t, board),
      NULL },

    { ngx_string("fluid_devops_connect_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_fluid_devops_loc_conf_t, pool.connect_timeout),
      NULL },

    { ngx_string("fluid_devops_query_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_fluid_devops_loc_conf_t, pool.query_timeout),
      NULL },

    { ngx_string("fluid_devops_pool_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_fluid_devops_loc_conf_t, pool.max_conns),
      &ngx_http_fluid_devops_pool_bounds },

    { ngx_string("fluid_devops_pool_queue"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_fluid_devops_loc_conf_t, pool.max_waiting),
      NULL },

    { ngx_string("fluid_devops_pool_wait_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_fluid_devops_loc_conf_t, pool.wait_timeout),
      NULL },

    { ngx_string("fluid_devops_idle_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_fluid_devops_loc_conf_t, pool.idle_timeout),
      NULL },

    { ngx_string("fluid_devops_max_lifetime"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_fluid_devops_loc_conf_t, pool.max_lifetime),
      NULL },

    { ngx_string("fluid_devops_prepare"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_fluid_devops_loc_conf_t, pool.prepare),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_fluid_devops_module_ctx = {
    ngx_http_fluid_devops_add_variables,   /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_fluid_devops_create_main_conf, /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_fluid_devops_create_loc_conf, /* create location configuration */
    ngx_http_fluid_devops_merge_loc_conf   /* merge location configuration */
};


ngx_module_t  ngx_http_fluid_devops_module = {
    NGX_MODULE_V1,
    &ngx_http_fluid_devops_module_ctx,     /* module context */
    ngx_http_fluid_devops_commands,        /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_fluid_devops_exit_process,    /* exit process */
    ngx_http_fluid_devops_exit_master,     /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_fluid_devops_vars[] = {

    { ngx_string("fluid_devops_status"), NULL,
      ngx_http_fluid_devops_status_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("fluid_devops_card_id"), NULL,
      ngx_http_fluid_devops_card_id_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


/* one body for every credential failure: it must not tell which one */
static const char  ngx_http_fluid_devops_unauthorized[] =
    "the user name or personal access token is not valid for this Fluid "
    "instance";


static ngx_int_t
ngx_http_fluid_devops_handler(ngx_http_request_t *r)
{
    ngx_int_t                          rc;
    const char                        *why;
    ngx_http_fluid_devops_ctx_t       *ctx;
    ngx_http_fluid_devops_loc_conf_t  *flcf;

    flcf = ngx_http_get_module_loc_conf(r, ngx_http_fluid_devops_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_fluid_devops_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_fluid_devops_module);

    ngx_str_set(&ctx->board, "-");

    /* the ids first, so that even a refusal for the method names a board */
    rc = ngx_http_fluid_devops_id(r, flcf->board, &ctx->board);
    if (rc == NGX_OK) {
        rc = ngx_http_fluid_devops_id(r, flcf->workspace, &ctx->workspace);
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!(r->method & NGX_HTTP_POST)) {
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ngx_http_fluid_devops_header(r, "Allow", "POST") != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_fluid_devops_refuse(r, NGX_LOG_INFO,
                                            NGX_HTTP_NOT_ALLOWED,
                                            "only POST is accepted here",
                                            "method not allowed");
    }

    if (rc == NGX_DECLINED) {
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_fluid_devops_refuse(r, NGX_LOG_INFO,
                                            NGX_HTTP_NOT_FOUND,
                                            "no such board",
                                            "workspace or board id is not "
                                            "a positive integer");
    }

    rc = ngx_http_fluid_devops_credentials(r, ctx, &why);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_fluid_devops_refuse(r, NGX_LOG_ERR,
                                            NGX_HTTP_UNAUTHORIZED,
                                            ngx_http_fluid_devops_unauthorized,
                                            why);
    }

    if (ngx_http_fluid_devops_content_type(r) != NGX_OK) {
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_fluid_devops_refuse(r, NGX_LOG_INFO,
                                        NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                        "the body must be JSON "
                                        "(Content-Type: application/json)",
                                        "content type is not JSON");
    }

    rc = ngx_http_read_client_request_body(r,
                                           ngx_http_fluid_devops_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_fluid_devops_body_handler(ngx_http_request_t *r)
{
    u_char                            *body;
    size_t                             len;
    ngx_int_t                          rc;
    ngx_pool_cleanup_t                *cln;
    ngx_http_fluid_devops_ctx_t       *ctx;
    ngx_http_fluid_devops_loc_conf_t  *flcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_fluid_devops_module);
    flcf = ngx_http_get_module_loc_conf(r, ngx_http_fluid_devops_module);

    if (ngx_http_fluid_devops_read_body(r, &body, &len) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    cln->handler = ngx_http_fluid_devops_cleanup;
    cln->data = ctx;

    ctx->parsed = 1;

    /*
     * TODO: the body is parsed before the database has seen the token, so
     * an unauthenticated client can make a worker parse up to
     * client_max_body_size of JSON.
     */
    switch (fluid_devops_payload_parse(&ctx->payload, (char *) body, len)) {

    case FLUID_DEVOPS_PAYLOAD_OK:
        break;

    case FLUID_DEVOPS_PAYLOAD_INVALID:
        rc = ngx_http_fluid_devops_refuse(r, NGX_LOG_INFO,
                                          NGX_HTTP_BAD_REQUEST,
                                          ctx->payload.error,
                                          ctx->payload.error);
        ngx_http_finalize_request(r, rc);
        return;

    case FLUID_DEVOPS_PAYLOAD_INCOMPLETE:
        rc = ngx_http_fluid_devops_refuse(r, NGX_LOG_INFO,
                                          NGX_HTTP_FLUID_DEVOPS_UNPROCESSABLE,
                                          ctx->payload.error,
                                          ctx->payload.error);
        ngx_http_finalize_request(r, rc);
        return;

    default:
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ngx_http_fluid_devops_start_query(r, ctx, flcf, body) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


/* a positive decimal integer within bigint's range, else NGX_DECLINED */

static ngx_int_t
ngx_http_fluid_devops_id(ngx_http_request_t *r, ngx_http_complex_value_t *cv,
    ngx_str_t *id)
{
    u_char     *p, *last;
    ngx_str_t   value;
    uint64_t    n;

    if (ngx_http_complex_value(r, cv, &value) != NGX_OK) {
        return NGX_ERROR;
    }

    if (value.len == 0 || value.len > NGX_INT64_LEN) {
        return NGX_DECLINED;
    }

    n = 0;
    last = value.data + value.len;

    for (p = value.data; p < last; p++) {
        if (*p < '0' || *p > '9') {
            return NGX_DECLINED;
        }

        n = n * 10 + (*p - '0');

        if (n > (uint64_t) INT64_MAX) {
            return NGX_DECLINED;
        }
    }

    if (n == 0) {
        return NGX_DECLINED;
    }

    id->data = ngx_pnalloc(r->pool, NGX_INT64_LEN + 1);
    if (id->data == NULL) {
        return NGX_ERROR;
    }

    last = ngx_sprintf(id->data, "%uL", n);
    *last = '\0';
    id->len = last - id->data;

    return NGX_OK;
}


/*
 * nginx decodes the Basic credentials; here they are checked for shape and
 * the token is hashed and wiped.  Whether the account and token are valid
 * is for the database to say.
 */

static ngx_int_t
ngx_http_fluid_devops_credentials(ngx_http_request_t *r,
    ngx_http_fluid_devops_ctx_t *ctx, const char **why)
{
    uintptr_t                      n;
    ngx_int_t                      rc;
    fluid_devops_credentials_rc_e  crc;

    rc = ngx_http_auth_basic_user(r);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        *why = r->headers_in.authorization == NULL
               ? "no Authorization header"
               : "Authorization is not well-formed Basic credentials";
        return NGX_DECLINED;
    }

    crc = fluid_devops_credentials_hash(r->headers_in.user.data,
                                        r->headers_in.user.len,
                                        r->headers_in.passwd.data,
                                        r->headers_in.passwd.len,
                                        ctx->token_hash);

    /* the token is needed no more: neither decoded nor as sent */
    ngx_explicit_memzero(r->headers_in.passwd.data, r->headers_in.passwd.len);
    r->headers_in.passwd.len = 0;

    ngx_explicit_memzero(r->headers_in.authorization->value.data,
                         r->headers_in.authorization->value.len);
    r->headers_in.authorization->value.len = 0;

    if (crc == FLUID_DEVOPS_CREDENTIALS_ERROR) {
        return NGX_ERROR;
    }

    if (crc != FLUID_DEVOPS_CREDENTIALS_OK) {
        *why = fluid_devops_credentials_strerror(crc);
        return NGX_DECLINED;
    }

    ctx->username.len = r->headers_in.user.len;
    ctx->username.data = ngx_pnalloc(r->pool, ctx->username.len + 1);
    if (ctx->username.data == NULL) {
        return NGX_ERROR;
    }

    *ngx_cpymem(ctx->username.data, r->headers_in.user.data,
                ctx->username.len) = '\0';

    /* the name as quoted in log lines and reasons: '"' and '\' escaped */
    n = ngx_escape_json(NULL, ctx->username.data, ctx->username.len);

    if (n == 0) {
        ctx->username_esc = ctx->username;

    } else {
        ctx->username_esc.len = ctx->username.len + n;
        ctx->username_esc.data = ngx_pnalloc(r->pool, ctx->username_esc.len);
        if (ctx->username_esc.data == NULL) {
            return NGX_ERROR;
        }

        ngx_escape_json(ctx->username_esc.data, ctx->username.data,
                        ctx->username.len);
    }

    return NGX_OK;
}


/* a missing Content-Type is accepted: the body decides */

static ngx_int_t
ngx_http_fluid_devops_content_type(ngx_http_request_t *r)
{
    ngx_table_elt_t  *h;

    h = r->headers_in.content_type;

    if (h == NULL) {
        return NGX_OK;
    }

    if (fluid_devops_content_type_is_json((char *) h->value.data,
                                          h->value.len))
    {
        return NGX_OK;
    }

    return NGX_DECLINED;
}


/*
 * The body as one NUL-terminated piece of memory, fit to be a text
 * parameter: nginx keeps it in memory buffers, in a temporary file (above
 * client_body_buffer_size), or in both.  One copy; the memory after a
 * buffer may hold the next pipelined request, so it is never written to.
 */

static ngx_int_t
ngx_http_fluid_devops_read_body(ngx_http_request_t *r, u_char **body,
    size_t *len)
{
    u_char       *p;
    off_t         size;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    *body = (u_char *) "";
    *len = 0;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    size = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        size += ngx_buf_size(cl->buf);
    }

    if (size == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, (size_t) size + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *body = p;
    *len = (size_t) size;
    p[size] = '\0';

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        n = ngx_read_file(b->file, p, (size_t) (b->file_last - b->file_pos),
                          b->file_pos);

        if (n != b->file_last - b->file_pos) {
            ngx_log_error(NGX_LOG_CRIT, r->connection->log, 0,
                          "fluid devops: could not read the request body "
                          "from \"%V\"", &b->file->name);
            return NGX_ERROR;
        }

        p += n;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_fluid_devops_start_query(ngx_http_request_t *r,
    ngx_http_fluid_devops_ctx_t *ctx, ngx_http_fluid_devops_loc_conf_t *flcf,
    u_char *body)
{
    u_char                         *p;
    fluid_devops_payload_t         *pl;
    ngx_http_fluid_devops_query_t  *q;

    pl = &ctx->payload;
    q = &ctx->query;

    q->db = flcf->db;
    q->handler = ngx_http_fluid_devops_query_done;
    q->data = r;
    q->log = r->connection->log;

    q->values[NGX_HTTP_FLUID_DEVOPS_P_TOKEN_HASH] = (char *) ctx->token_hash;
    q->lengths[NGX_HTTP_FLUID_DEVOPS_P_TOKEN_HASH] =
                                                FLUID_DEVOPS_TOKEN_HASH_LEN;
    q->formats[NGX_HTTP_FLUID_DEVOPS_P_TOKEN_HASH] = 1;

    q->values[NGX_HTTP_FLUID_DEVOPS_P_USERNAME] = (char *) ctx->username.data;
    q->values[NGX_HTTP_FLUID_DEVOPS_P_WORKSPACE] =
                                                (char *) ctx->workspace.data;
    q->values[NGX_HTTP_FLUID_DEVOPS_P_BOARD] = (char *) ctx->board.data;

    switch (pl->event) {

    case FLUID_DEVOPS_EVENT_CREATED:
        q->values[NGX_HTTP_FLUID_DEVOPS_P_EVENT] = "created";
        break;

    case FLUID_DEVOPS_EVENT_DELETED:
        q->values[NGX_HTTP_FLUID_DEVOPS_P_EVENT] = "deleted";
        break;

    default:
        /* the event type itself only ever reaches the answer */
        q->values[NGX_HTTP_FLUID_DEVOPS_P_EVENT] = "other";
        break;
    }

    q->values[NGX_HTTP_FLUID_DEVOPS_P_IS_TEST] = pl->is_test ? "t" : "f";

    p = ngx_pnalloc(r->pool, 2 * (NGX_INT64_LEN + 1));
    if (p == NULL) {
        return NGX_ERROR;
    }

    q->values[NGX_HTTP_FLUID_DEVOPS_P_WORK_ITEM_ID] = (char *) p;
    p = ngx_sprintf(p, "%L", pl->work_item_id);
    *p++ = '\0';

    if (pl->has_priority) {
        q->values[NGX_HTTP_FLUID_DEVOPS_P_PRIORITY] = (char *) p;
        p = ngx_sprintf(p, "%D", pl->priority);
        *p = '\0';
    }

    q->values[NGX_HTTP_FLUID_DEVOPS_P_WORK_ITEM_TYPE] =
                                                    pl->work_item_type.data;
    q->values[NGX_HTTP_FLUID_DEVOPS_P_TITLE] = pl->title.data;
    q->values[NGX_HTTP_FLUID_DEVOPS_P_DESCRIPTION] = pl->description.data;
    q->values[NGX_HTTP_FLUID_DEVOPS_P_STATE] = pl->state.data;
    q->values[NGX_HTTP_FLUID_DEVOPS_P_ASSIGNED_TO] = pl->assigned_to.data;
    q->values[NGX_HTTP_FLUID_DEVOPS_P_TAGS] = pl->tags.data;
    q->values[NGX_HTTP_FLUID_DEVOPS_P_PROJECT] = pl->project.data;
    q->values[NGX_HTTP_FLUID_DEVOPS_P_URL] = pl->url.data;

    /*
     * a card being created keeps resource.fields as sent: the body goes as
     * it came, checked by the parser, and the database takes the fields
     * out of it, instead of this side serialising them again
     */
    if (pl->fields && pl->event == FLUID_DEVOPS_EVENT_CREATED && !pl->is_test)
    {
        q->values[NGX_HTTP_FLUID_DEVOPS_P_BODY] = (char *) body;
    }

    ctx->queried = 1;

    ngx_http_fluid_devops_db_query(q);

    return NGX_OK;
}


static void
ngx_http_fluid_devops_query_done(ngx_http_fluid_devops_query_t *q,
    PGresult *res)
{
    ngx_int_t                     rc;
    ngx_connection_t             *c;
    ngx_http_request_t           *r;
    ngx_http_fluid_devops_ctx_t  *ctx;

    r = q->data;
    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_fluid_devops_module);

    switch (q->rc) {

    case NGX_HTTP_FLUID_DEVOPS_DB_OK:
        rc = ngx_http_fluid_devops_outcome(r, ctx, res);
        break;

    case NGX_HTTP_FLUID_DEVOPS_DB_UNAVAILABLE:
        if (ngx_http_fluid_devops_header(r, "Retry-After",
                                         NGX_HTTP_FLUID_DEVOPS_RETRY_AFTER)
            != NGX_OK)
        {
            rc = NGX_ERROR;
            break;
        }

        ngx_str_set(&ctx->status, "unavailable");
        rc = ngx_http_fluid_devops_refuse(r, NGX_LOG_INFO,
                                     NGX_HTTP_SERVICE_UNAVAILABLE,
                                     "the Fluid database is unavailable; "
                                     "the delivery was not completed, and "
                                     "redelivering it is safe",
                                     "database unavailable");
        break;

    default:
        ngx_str_set(&ctx->status, "error");
        rc = ngx_http_fluid_devops_refuse(r, NGX_LOG_INFO,
                                     NGX_HTTP_INTERNAL_SERVER_ERROR,
                                     "internal error; nothing was written, "
                                     "the Fluid server's error log has the "
                                     "cause", "database error");
        break;
    }

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/* the statement's result row, as the answer DevOps gets */

static ngx_int_t
ngx_http_fluid_devops_outcome(ngx_http_request_t *r,
    ngx_http_fluid_devops_ctx_t *ctx, PGresult *res)
{
    char                    *status, *detail;
    u_char                   buf[NGX_HTTP_FLUID_DEVOPS_REASON_LEN];
    json_t                  *extra;
    int64_t                  card_id;
    ngx_int_t                rc;
    fluid_devops_payload_t  *pl;

    pl = &ctx->payload;

    status = PQgetvalue(res, 0, NGX_HTTP_FLUID_DEVOPS_COL_STATUS);
    detail = PQgetisnull(res, 0, NGX_HTTP_FLUID_DEVOPS_COL_DETAIL)
             ? NULL : PQgetvalue(res, 0, NGX_HTTP_FLUID_DEVOPS_COL_DETAIL);

    card_id = 0;
    if (!PQgetisnull(res, 0, NGX_HTTP_FLUID_DEVOPS_COL_CARD_ID)) {
        card_id = ngx_atoof((u_char *)
                            PQgetvalue(res, 0,
                                       NGX_HTTP_FLUID_DEVOPS_COL_CARD_ID),
                            PQgetlength(res, 0,
                                        NGX_HTTP_FLUID_DEVOPS_COL_CARD_ID));
    }

    /* literals only: $fluid_devops_status outlives the result */

    if (ngx_strcmp(status, "created") == 0) {
        return ngx_http_fluid_devops_send(r, NGX_HTTP_CREATED, "created",
                                          card_id, NULL);
    }

    if (ngx_strcmp(status, "exists") == 0) {
        return ngx_http_fluid_devops_send(r, NGX_HTTP_OK, "exists", card_id,
                                          NULL);
    }

    if (ngx_strcmp(status, "deleted") == 0) {
        return ngx_http_fluid_devops_send(r, NGX_HTTP_OK, "deleted", card_id,
                                          NULL);
    }

    if (ngx_strcmp(status, "absent") == 0) {
        return ngx_http_fluid_devops_send(r, NGX_HTTP_OK, "absent", 0, NULL);
    }

    if (ngx_strcmp(status, "ignored") == 0) {
        if (detail && ngx_strcmp(detail, "type") == 0) {
            ngx_http_fluid_devops_text(buf, sizeof(buf),
                                       "work item type \"%s\" is not "
                                       "configured for board %V",
                                       pl->work_item_type.data, &ctx->board);
        } else {
            ngx_http_fluid_devops_text(buf, sizeof(buf),
                                       "event type \"%s\" is not handled; "
                                       "only workitem.created and "
                                       "workitem.deleted are",
                                       pl->event_type.data);
        }

        extra = json_pack("{s:s}", "reason", buf);
        if (extra == NULL) {
            return NGX_ERROR;
        }

        rc = ngx_http_fluid_devops_send(r, NGX_HTTP_OK, "ignored", 0, extra);
        json_decref(extra);
        return rc;
    }

    if (ngx_strcmp(status, "test") == 0) {
        extra = json_pack("{s:s, s:s?, s:s?}",
                          "reason", "Azure DevOps test sample received: the "
                          "credentials, the board and the permission are in "
                          "order; nothing was written",
                          "work_item_type", pl->work_item_type.data,
                          "card_type", detail);
        if (extra == NULL) {
            return NGX_ERROR;
        }

        rc = ngx_http_fluid_devops_send(r, NGX_HTTP_OK, "test", 0, extra);
        json_decref(extra);
        return rc;
    }

    if (ngx_strcmp(status, "unauthorized") == 0) {
        if (detail && ngx_strcmp(detail, "sender") == 0) {
            ngx_http_fluid_devops_text(buf, sizeof(buf),
                                       "account \"%V\" is not the DevOps "
                                       "sender set under Authentication "
                                       "Providers", &ctx->username_esc);
        } else {
            ngx_http_fluid_devops_text(buf, sizeof(buf),
                                       "no active account \"%V\" with that "
                                       "token (unknown, inactive, revoked or "
                                       "expired)", &ctx->username_esc);
        }

        return ngx_http_fluid_devops_refuse(r, NGX_LOG_ERR,
                                            NGX_HTTP_UNAUTHORIZED,
                                            ngx_http_fluid_devops_unauthorized,
                                            (char *) buf);
    }

    if (ngx_strcmp(status, "disabled") == 0) {
        return ngx_http_fluid_devops_refuse(r, NGX_LOG_ERR,
                       NGX_HTTP_FORBIDDEN,
                       "DevOps incoming webhooks are turned off for this "
                       "Fluid instance: enable \"Allow DevOps Incoming "
                       "Webhook\" in the Administration Console under "
                       "Authentication Providers",
                       "instance switch off");
    }

    if (ngx_strcmp(status, "not_found") == 0) {
        ngx_http_fluid_devops_text(buf, sizeof(buf),
                                   "there is no board %V in workspace %V",
                                   &ctx->board, &ctx->workspace);

        return ngx_http_fluid_devops_refuse(r, NGX_LOG_INFO,
                                            NGX_HTTP_NOT_FOUND, (char *) buf,
                                            (char *) buf);
    }

    if (ngx_strcmp(status, "forbidden") == 0 && detail) {

        if (ngx_strcmp(detail, "board") == 0) {
            ngx_http_fluid_devops_text(buf, sizeof(buf),
                                       "incoming webhooks from DevOps are "
                                       "turned off for board %V: enable "
                                       "\"Allow Incoming Webhooks from "
                                       "DevOps\" on the board's integration "
                                       "page", &ctx->board);
        } else {
            ngx_http_fluid_devops_text(buf, sizeof(buf),
                                       "account \"%V\" may not %s items on "
                                       "board %V: grant it the permission "
                                       "in Fluid", &ctx->username_esc, detail,
                                       &ctx->board);
        }

        return ngx_http_fluid_devops_refuse(r, NGX_LOG_ERR,
                                            NGX_HTTP_FORBIDDEN, (char *) buf,
                                            (char *) buf);
    }

    ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                  "fluid devops: unexpected outcome \"%s\" from the database",
                  status);

    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}


/*
 * A reason for an answer, cut to the buffer if need be, never in the middle
 * of a UTF-8 character (it becomes a JSON string), and NUL-terminated.
 */

static void
ngx_http_fluid_devops_text(u_char *buf, size_t size, const char *fmt, ...)
{
    u_char   *last, *p;
    va_list   args;

    va_start(args, fmt);
    last = ngx_vslprintf(buf, buf + size - 1, fmt, args);
    va_end(args);

    if (last == buf + size - 1) {
        /* step back over an incomplete trailing UTF-8 sequence */
        p = last;
        while (p > buf && (p[-1] & 0xc0) == 0x80) {
            p--;
        }

        if (p > buf && p[-1] >= 0xc0) {
            last = p - 1;
        }
    }

    *last = '\0';
}


static void
ngx_http_fluid_devops_cleanup(void *data)
{
    ngx_http_fluid_devops_ctx_t  *ctx = data;

    if (ctx->queried) {
        ngx_http_fluid_devops_db_abandon(&ctx->query);
    }

    if (ctx->parsed) {
        fluid_devops_payload_free(&ctx->payload);
    }
}


/* a delivery not acted on: one log line naming the board, then the answer */

static ngx_int_t
ngx_http_fluid_devops_refuse(ngx_http_request_t *r, ngx_uint_t level,
    ngx_uint_t status, const char *reason, const char *why)
{
    json_t                       *extra;
    ngx_int_t                     rc;
    ngx_http_fluid_devops_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_fluid_devops_module);

    ngx_log_error(level, r->connection->log, 0,
                  "fluid devops: delivery to board \"%V\" refused with %ui: "
                  "%s", &ctx->board, status, why);

    if (status == NGX_HTTP_UNAUTHORIZED) {
        if (ngx_http_fluid_devops_header(r, "WWW-Authenticate",
                                         "Basic realm=\"Fluid\"")
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    extra = json_pack("{s:s}", "reason", reason);
    if (extra == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_http_fluid_devops_send(r, status,
                                    ctx->status.len ? (char *) ctx->status.data
                                                    : "refused",
                                    0, extra);
    json_decref(extra);

    return rc;
}


static ngx_int_t
ngx_http_fluid_devops_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *state, int64_t card_id, json_t *extra)
{
    char                         *buf;
    size_t                        n;
    json_t                       *obj;
    ngx_int_t                     rc;
    ngx_buf_t                    *b;
    ngx_chain_t                   out;
    ngx_http_fluid_devops_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_fluid_devops_module);

    ctx->status.data = (u_char *) state;
    ctx->status.len = ngx_strlen(state);
    ctx->card_id = card_id;

    if (extra == NULL) {
        /* the common answers: a literal status and a number need no escaping */
        buf = ngx_pnalloc(r->pool, sizeof("{\"status\":\"\",\"card_id\":}\n")
                                   + ctx->status.len + NGX_INT64_LEN);
        if (buf == NULL) {
            return NGX_ERROR;
        }

        n = (card_id ? ngx_sprintf((u_char *) buf,
                                   "{\"status\":\"%s\",\"card_id\":%L}",
                                   state, card_id)
                     : ngx_sprintf((u_char *) buf, "{\"status\":\"%s\"}",
                                   state))
            - (u_char *) buf;

    } else {
        obj = json_pack("{s:s}", "status", state);
        if (obj == NULL) {
            return NGX_ERROR;
        }

        if (json_object_update(obj, extra) != 0) {
            json_decref(obj);
            return NGX_ERROR;
        }

        n = json_dumpb(obj, NULL, 0, JSON_COMPACT);

        buf = ngx_pnalloc(r->pool, n + 1);
        if (buf == NULL || json_dumpb(obj, buf, n, JSON_COMPACT) != n) {
            json_decref(obj);
            return NGX_ERROR;
        }

        json_decref(obj);
    }

    buf[n++] = '\n';

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = (u_char *) buf;
    b->last = (u_char *) buf + n;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    r->headers_out.status = status;

    /* nginx knows no reason phrase for 422 */
    if (status == NGX_HTTP_FLUID_DEVOPS_UNPROCESSABLE) {
        ngx_str_set(&r->headers_out.status_line, "422 Unprocessable Entity");
    }
    r->headers_out.content_length_n = n;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_fluid_devops_header(ngx_http_request_t *r, const char *name,
    const char *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value.data = (u_char *) value;
    h->value.len = ngx_strlen(value);

    if (ngx_strcmp(name, "WWW-Authenticate") == 0) {
        r->headers_out.www_authenticate = h;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_fluid_devops_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_fluid_devops_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_fluid_devops_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_fluid_devops_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_fluid_devops_module);

    if (ctx == NULL || ctx->status.len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = ctx->status.len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = ctx->status.data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_fluid_devops_card_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                       *p;
    ngx_http_fluid_devops_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_fluid_devops_module);

    if (ctx == NULL || ctx->card_id == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->len = ngx_sprintf(p, "%L", ctx->card_id) - p;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = p;

    return NGX_OK;
}


static void *
ngx_http_fluid_devops_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_fluid_devops_main_conf_t  *fmcf;

    fmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_fluid_devops_main_conf_t));
    if (fmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&fmcf->dbs, cf->pool, 2,
                       sizeof(ngx_http_fluid_devops_db_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return fmcf;
}


static void *
ngx_http_fluid_devops_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_fluid_devops_loc_conf_t  *flcf;

    flcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_fluid_devops_loc_conf_t));
    if (flcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     flcf->conninfo = NULL;
     *     flcf->workspace = NULL;
     *     flcf->board = NULL;
     *     flcf->db = NULL;
     */

    flcf->enable = NGX_CONF_UNSET;
    flcf->pool.connect_timeout = NGX_CONF_UNSET_MSEC;
    flcf->pool.query_timeout = NGX_CONF_UNSET_MSEC;
    flcf->pool.wait_timeout = NGX_CONF_UNSET_MSEC;
    flcf->pool.idle_timeout = NGX_CONF_UNSET_MSEC;
    flcf->pool.max_lifetime = NGX_CONF_UNSET_MSEC;
    flcf->pool.max_conns = NGX_CONF_UNSET_UINT;
    flcf->pool.max_waiting = NGX_CONF_UNSET_UINT;
    flcf->pool.prepare = NGX_CONF_UNSET;

    return flcf;
}


static char *
ngx_http_fluid_devops_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_fluid_devops_loc_conf_t *prev = parent;
    ngx_http_fluid_devops_loc_conf_t *conf = child;

    ngx_http_fluid_devops_main_conf_t  *fmcf;

    /* like a content handler, the receiver is not inherited */
    if (conf->enable == NGX_CONF_UNSET) {
        conf->enable = 0;
    }

    if (conf->conninfo == NULL) {
        conf->conninfo = prev->conninfo;
    }

    ngx_conf_merge_msec_value(conf->pool.connect_timeout,
                              prev->pool.connect_timeout, 5000);
    ngx_conf_merge_msec_value(conf->pool.query_timeout,
                              prev->pool.query_timeout, 10000);
    ngx_conf_merge_msec_value(conf->pool.wait_timeout,
                              prev->pool.wait_timeout, 3000);
    ngx_conf_merge_msec_value(conf->pool.idle_timeout,
                              prev->pool.idle_timeout, 60000);
    ngx_conf_merge_msec_value(conf->pool.max_lifetime,
                              prev->pool.max_lifetime, 3600000);
    ngx_conf_merge_uint_value(conf->pool.max_conns, prev->pool.max_conns, 16);
    ngx_conf_merge_uint_value(conf->pool.max_waiting, prev->pool.max_waiting,
                              256);
    ngx_conf_merge_value(conf->pool.prepare, prev->pool.prepare, 1);

    if (!conf->enable) {
        return NGX_CONF_OK;
    }

    if (conf->conninfo == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"fluid_devops_webhook\" needs "
                           "\"fluid_devops_database\"");
        return NGX_CONF_ERROR;
    }

    if (conf->workspace == NULL || conf->board == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"fluid_devops_webhook\" needs "
                           "\"fluid_devops_workspace\" and "
                           "\"fluid_devops_board\"");
        return NGX_CONF_ERROR;
    }

    if (conf->pool.query_timeout == 0 || conf->pool.connect_timeout == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "fluid_devops timeouts must be greater than zero");
        return NGX_CONF_ERROR;
    }

    fmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_fluid_devops_module);

    conf->db = ngx_http_fluid_devops_db_get(cf, &fmcf->dbs, conf->conninfo,
                                            &conf->pool);
    if (conf->db == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_fluid_devops_webhook(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_fluid_devops_loc_conf_t *flcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (flcf->enable != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    flcf->enable = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_fluid_devops_handler;

    return NGX_CONF_OK;
}


static char *
ngx_http_fluid_devops_database(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_fluid_devops_loc_conf_t *flcf = conf;

    ngx_str_t  *value;

    if (flcf->conninfo) {
        return "is duplicate";
    }

    value = cf->args->elts;

    return ngx_http_fluid_devops_db_parse(cf, &value[1], &flcf->conninfo);
}


static void
ngx_http_fluid_devops_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_fluid_devops_main_conf_t  *fmcf;

    fmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_fluid_devops_module);
    if (fmcf == NULL) {
        return;
    }

    ngx_http_fluid_devops_db_exit(&fmcf->dbs);

    fluid_devops_credentials_cleanup();
}


/* a single-process nginx exits through here, with its worker's state */

static void
ngx_http_fluid_devops_exit_master(ngx_cycle_t *cycle)
{
    fluid_devops_credentials_cleanup();
}
