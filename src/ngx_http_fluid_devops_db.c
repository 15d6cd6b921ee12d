/*
 * The PostgreSQL connection pool: libpq's asynchronous API driven by read
 * and write events on nginx connections that wrap libpq's sockets, with
 * timers for connecting, queries, waiting, idleness and lifetime.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netdb.h>
#include <arpa/inet.h>

#include "ngx_http_fluid_devops_db.h"


#define NGX_HTTP_FLUID_DEVOPS_STMT  "fluid_devops_deliver"

#define NGX_HTTP_FLUID_DEVOPS_SQL                                            \
    "SELECT status, card_id, detail FROM fluid.devops_deliver("              \
    "$1::bytea, $2::text, $3::bigint, $4::bigint, $5::text, $6::boolean, "   \
    "$7::bigint, $8::text, $9::text, $10::text, $11::text, $12::integer, "   \
    "$13::text, $14::text, $15::text, $16::text, $17::text)"


typedef enum {
    NGX_HTTP_FLUID_DEVOPS_CONNECTING = 0,
    NGX_HTTP_FLUID_DEVOPS_PREPARING,
    NGX_HTTP_FLUID_DEVOPS_IDLE,
    NGX_HTTP_FLUID_DEVOPS_BUSY,
    NGX_HTTP_FLUID_DEVOPS_DRAINING
} ngx_http_fluid_devops_conn_state_e;


/* the host, hostaddr and port lists of a connection string being built */
typedef struct {
    ngx_str_t                            host;
    ngx_str_t                            addr;
    ngx_str_t                            port;
    ngx_uint_t                           n;
} ngx_http_fluid_devops_hostlist_t;


struct ngx_http_fluid_devops_db_s {
    ngx_http_fluid_devops_conninfo_t    *ci;
    ngx_http_fluid_devops_pool_conf_t    conf;

    const char                         **keywords;
    const char                         **values;

    /* per worker */
    ngx_queue_t                          idle;
    ngx_queue_t                          active;
    ngx_queue_t                          waiting;
    ngx_uint_t                           nconns;
    ngx_uint_t                           nwaiting;

    /* a failed connect is logged once per distinct message */
    uint32_t                             down;
    time_t                               warned;
};


struct ngx_http_fluid_devops_conn_s {
    ngx_http_fluid_devops_db_t          *db;
    PGconn                              *pg;
    ngx_connection_t                    *c;
    ino_t                                ino;

    ngx_http_fluid_devops_query_t       *q;
    PGresult                            *res;

    ngx_queue_t                          queue;
    ngx_event_t                          timer;
    ngx_log_t                            log;
    ngx_msec_t                           born;

    ngx_http_fluid_devops_conn_state_e   state;

    unsigned                             flushing:1;
    unsigned                             reused:1;
};


static char *ngx_http_fluid_devops_db_resolve(ngx_conf_t *cf,
    ngx_http_fluid_devops_conninfo_t *ci, const char *host,
    const char *port);
static ngx_int_t ngx_http_fluid_devops_db_append(ngx_conf_t *cf,
    ngx_http_fluid_devops_hostlist_t *list, ngx_str_t *host, ngx_str_t *addr,
    ngx_str_t *port);
static ngx_int_t ngx_http_fluid_devops_db_split(ngx_conf_t *cf,
    const char *list, ngx_array_t *items);
static void ngx_http_fluid_devops_db_set(ngx_http_fluid_devops_conninfo_t *ci,
    const char *keyword, const char *value, ngx_uint_t replace);
static const char *ngx_http_fluid_devops_db_value(
    ngx_http_fluid_devops_conninfo_t *ci, const char *keyword);

static void ngx_http_fluid_devops_conn_open(ngx_http_fluid_devops_db_t *db,
    ngx_http_fluid_devops_query_t *q);
static void ngx_http_fluid_devops_conn_connect(
    ngx_http_fluid_devops_conn_t *conn);
static void ngx_http_fluid_devops_conn_connected(
    ngx_http_fluid_devops_conn_t *conn);
static void ngx_http_fluid_devops_conn_connect_failed(
    ngx_http_fluid_devops_conn_t *conn, const char *why);
static ngx_int_t ngx_http_fluid_devops_conn_socket(
    ngx_http_fluid_devops_conn_t *conn);
static void ngx_http_fluid_devops_conn_unwrap(
    ngx_http_fluid_devops_conn_t *conn);
static void ngx_http_fluid_devops_conn_send(ngx_http_fluid_devops_conn_t *conn,
    ngx_http_fluid_devops_query_t *q);
static ngx_int_t ngx_http_fluid_devops_conn_flush(
    ngx_http_fluid_devops_conn_t *conn);
static void ngx_http_fluid_devops_conn_handler(ngx_event_t *ev);
static void ngx_http_fluid_devops_conn_read(
    ngx_http_fluid_devops_conn_t *conn);
static void ngx_http_fluid_devops_conn_result(
    ngx_http_fluid_devops_conn_t *conn);
static void ngx_http_fluid_devops_conn_prepared(
    ngx_http_fluid_devops_conn_t *conn, PGresult *res);
static void ngx_http_fluid_devops_conn_idle_read(
    ngx_http_fluid_devops_conn_t *conn);
static void ngx_http_fluid_devops_conn_timeout(ngx_event_t *ev);
static void ngx_http_fluid_devops_conn_lost(ngx_http_fluid_devops_conn_t *conn,
    const char *what);
static void ngx_http_fluid_devops_conn_release(
    ngx_http_fluid_devops_conn_t *conn);
static void ngx_http_fluid_devops_conn_close(ngx_http_fluid_devops_conn_t *conn,
    ngx_uint_t unreachable);
static void ngx_http_fluid_devops_conn_free(ngx_http_fluid_devops_conn_t *conn);

static void ngx_http_fluid_devops_query_wait_timeout(ngx_event_t *ev);
static void ngx_http_fluid_devops_query_finish(
    ngx_http_fluid_devops_query_t *q, ngx_http_fluid_devops_db_rc_e rc,
    PGresult *res);
static ngx_http_fluid_devops_query_t *ngx_http_fluid_devops_query_dequeue(
    ngx_http_fluid_devops_db_t *db);
static ngx_http_fluid_devops_db_rc_e ngx_http_fluid_devops_db_classify(
    const char *sqlstate);
static u_char *ngx_http_fluid_devops_db_error(PGconn *pg, u_char *buf,
    size_t len);
static u_char *ngx_http_fluid_devops_db_flatten(const char *msg, u_char *buf,
    size_t len);
static void ngx_http_fluid_devops_conn_notice(void *arg, const PGresult *res);


/* configuration time */

char *
ngx_http_fluid_devops_db_parse(ngx_conf_t *cf, ngx_str_t *text,
    ngx_http_fluid_devops_conninfo_t **cip)
{
    char                              *err, *rv;
    u_char                            *p;
    size_t                             len;
    ngx_str_t                          val;
    ngx_uint_t                         i;
    const char                        *host, *v;
    PQconninfoOption                  *opts, *o;
    ngx_http_fluid_devops_conninfo_t  *ci;

    static const char  *shown[] = { "host", "port", "dbname", "user", NULL };

    ci = ngx_pcalloc(cf->pool, sizeof(ngx_http_fluid_devops_conninfo_t));
    if (ci == NULL) {
        return NGX_CONF_ERROR;
    }

    ci->text.data = ngx_pnalloc(cf->pool, text->len + 1);
    if (ci->text.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(ci->text.data, text->data, text->len);
    ci->text.data[text->len] = '\0';
    ci->text.len = text->len;

    if (ngx_strlen(ci->text.data) != ci->text.len) {
        return "has a NUL character";
    }

    err = NULL;
    opts = PQconninfoParse((char *) ci->text.data, &err);

    if (opts == NULL) {
        if (err) {
            len = ngx_strlen(err);
            while (len && (err[len - 1] == '\n' || err[len - 1] == '.')) {
                len--;
            }

            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid database connection string: %*s",
                               len, err);
            PQfreemem(err);
        }

        return NGX_CONF_ERROR;
    }

    if (ngx_array_init(&ci->keywords, cf->pool, 16, sizeof(char *))
        != NGX_OK
        || ngx_array_init(&ci->values, cf->pool, 16, sizeof(char *))
           != NGX_OK)
    {
        PQconninfoFree(opts);
        return NGX_CONF_ERROR;
    }

    for (o = opts; o->keyword; o++) {
        if (o->val == NULL) {
            continue;
        }

        val.len = ngx_strlen(o->val) + 1;
        val.data = (u_char *) o->val;

        p = ngx_pstrdup(cf->pool, &val);
        if (p == NULL) {
            PQconninfoFree(opts);
            return NGX_CONF_ERROR;
        }

        val.len = ngx_strlen(o->keyword) + 1;
        val.data = (u_char *) o->keyword;

        v = (char *) ngx_pstrdup(cf->pool, &val);
        if (v == NULL) {
            PQconninfoFree(opts);
            return NGX_CONF_ERROR;
        }

        ngx_http_fluid_devops_db_set(ci, v, (char *) p, 1);
    }

    PQconninfoFree(opts);

    /* a service file would be read, and its host names resolved, per connect */
    if (ngx_http_fluid_devops_db_value(ci, "service")) {
        return "has \"service\", which is not supported: write its "
               "parameters into the string";
    }

    len = 0;
    for (i = 0; shown[i]; i++) {
        v = ngx_http_fluid_devops_db_value(ci, shown[i]);
        if (v) {
            len += ngx_strlen(shown[i]) + ngx_strlen(v) + 2;
        }
    }

    ci->display.data = ngx_pnalloc(cf->pool, len + 1);
    if (ci->display.data == NULL) {
        return NGX_CONF_ERROR;
    }

    p = ci->display.data;

    for (i = 0; shown[i]; i++) {
        v = ngx_http_fluid_devops_db_value(ci, shown[i]);
        if (v) {
            p = ngx_sprintf(p, "%s%s=%s", p == ci->display.data ? "" : " ",
                            shown[i], v);
        }
    }

    ci->display.len = p - ci->display.data;

    /*
     * libpq would look host names up inside PQconnectStart, blocking.
     * TODO: names are resolved only when the configuration is read; a DNS
     * change takes a reload.
     */
    host = ngx_http_fluid_devops_db_value(ci, "host");

    if (host && ngx_http_fluid_devops_db_value(ci, "hostaddr") == NULL) {
        rv = ngx_http_fluid_devops_db_resolve(cf, ci, host,
                                   ngx_http_fluid_devops_db_value(ci, "port"));
        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    ngx_http_fluid_devops_db_set(ci, "gssencmode", "disable", 0);
    ngx_http_fluid_devops_db_set(ci, "application_name",
                                 "nginx fluid_devops", 0);

    /* text parameters are sent as the UTF-8 they arrived in */
    ngx_http_fluid_devops_db_set(ci, "client_encoding", "UTF8", 1);

    *cip = ci;

    return NGX_CONF_OK;
}


/*
 * Each named host becomes one entry per address, with the address in
 * hostaddr, so that connecting never resolves; socket paths and literal
 * addresses pass as they are.
 */

static char *
ngx_http_fluid_devops_db_resolve(ngx_conf_t *cf,
    ngx_http_fluid_devops_conninfo_t *ci, const char *host, const char *port)
{
    int               rc;
    char              addr[NI_MAXHOST];
    ngx_str_t        *hosts, *ports, *name, *pn, a;
    ngx_uint_t        i;
    ngx_array_t       hs, ps;
    unsigned char     buf[sizeof(struct in6_addr)];
    struct addrinfo   hints, *res, *ai;
    ngx_http_fluid_devops_hostlist_t  list;

    if (ngx_http_fluid_devops_db_split(cf, host, &hs) != NGX_OK
        || ngx_http_fluid_devops_db_split(cf, port ? port : "", &ps)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    hosts = hs.elts;
    ports = ps.elts;

    if (ps.nelts > 1 && ps.nelts != hs.nelts) {
        return "has a port list that does not match its host list";
    }

    ngx_memzero(&list, sizeof(ngx_http_fluid_devops_hostlist_t));

    for (i = 0; i < hs.nelts; i++) {
        name = &hosts[i];
        pn = ps.nelts == 0 ? NULL : &ports[ps.nelts == 1 ? 0 : i];

        if (name->len == 0 || name->data[0] == '/' || name->data[0] == '@') {
            ngx_str_null(&a);

            if (ngx_http_fluid_devops_db_append(cf, &list, name, &a, pn)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (inet_pton(AF_INET, (char *) name->data, buf) == 1
            || inet_pton(AF_INET6, (char *) name->data, buf) == 1)
        {
            if (ngx_http_fluid_devops_db_append(cf, &list, name, name, pn)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_memzero(&hints, sizeof(struct addrinfo));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;

        rc = getaddrinfo((char *) name->data, NULL, &hints, &res);
        if (rc != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "host \"%V\" of the database connection "
                               "string could not be resolved: %s",
                               name, gai_strerror(rc));
            return NGX_CONF_ERROR;
        }

        for (ai = res; ai; ai = ai->ai_next) {
            if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr),
                            NULL, 0, NI_NUMERICHOST) != 0)
            {
                continue;
            }

            a.data = (u_char *) addr;
            a.len = ngx_strlen(addr);

            if (ngx_http_fluid_devops_db_append(cf, &list, name, &a, pn)
                != NGX_OK)
            {
                freeaddrinfo(res);
                return NGX_CONF_ERROR;
            }
        }

        freeaddrinfo(res);
    }

    ngx_http_fluid_devops_db_set(ci, "host", (char *) list.host.data, 1);
    ngx_http_fluid_devops_db_set(ci, "hostaddr", (char *) list.addr.data, 1);

    if (port) {
        ngx_http_fluid_devops_db_set(ci, "port", (char *) list.port.data, 1);
    }

    return NGX_CONF_OK;
}


/* appends one entry to the host, hostaddr and port lists, kept terminated */

static ngx_int_t
ngx_http_fluid_devops_db_append(ngx_conf_t *cf,
    ngx_http_fluid_devops_hostlist_t *list, ngx_str_t *host, ngx_str_t *addr,
    ngx_str_t *port)
{
    u_char      *p, *last;
    ngx_str_t   *lists[3], *items[3], empty, old;
    ngx_uint_t   i;

    ngx_str_null(&empty);

    lists[0] = &list->host;
    lists[1] = &list->addr;
    lists[2] = &list->port;
    items[0] = host;
    items[1] = addr;
    items[2] = port ? port : &empty;

    for (i = 0; i < 3; i++) {
        old = *lists[i];

        p = ngx_pnalloc(cf->pool, old.len + 1 + items[i]->len + 1);
        if (p == NULL) {
            return NGX_ERROR;
        }

        last = ngx_sprintf(p, "%V%s%V", &old, list->n ? "," : "", items[i]);
        *last = '\0';

        lists[i]->data = p;
        lists[i]->len = last - p;
    }

    list->n++;

    return NGX_OK;
}


/* a libpq comma-separated list into NUL-terminated strings */

static ngx_int_t
ngx_http_fluid_devops_db_split(ngx_conf_t *cf, const char *list,
    ngx_array_t *items)
{
    const char  *p, *comma;
    ngx_str_t   *item;

    if (ngx_array_init(items, cf->pool, 4, sizeof(ngx_str_t)) != NGX_OK) {
        return NGX_ERROR;
    }

    if (*list == '\0') {
        return NGX_OK;
    }

    p = list;

    for ( ;; ) {
        comma = ngx_strchr(p, ',');

        item = ngx_array_push(items);
        if (item == NULL) {
            return NGX_ERROR;
        }

        item->len = comma ? (size_t) (comma - p) : ngx_strlen(p);
        item->data = ngx_pnalloc(cf->pool, item->len + 1);
        if (item->data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(item->data, p, item->len);
        item->data[item->len] = '\0';

        if (comma == NULL) {
            return NGX_OK;
        }

        p = comma + 1;
    }
}


static void
ngx_http_fluid_devops_db_set(ngx_http_fluid_devops_conninfo_t *ci,
    const char *keyword, const char *value, ngx_uint_t replace)
{
    const char  **k, **v;
    ngx_uint_t    i;

    k = ci->keywords.elts;
    v = ci->values.elts;

    for (i = 0; i < ci->keywords.nelts; i++) {
        if (ngx_strcmp(k[i], keyword) == 0) {
            if (replace) {
                v[i] = value;
            }

            return;
        }
    }

    k = ngx_array_push(&ci->keywords);
    v = ngx_array_push(&ci->values);

    /* the arrays were sized for every libpq keyword; this cannot fail */
    if (k && v) {
        *k = keyword;
        *v = value;
    }
}


static const char *
ngx_http_fluid_devops_db_value(ngx_http_fluid_devops_conninfo_t *ci,
    const char *keyword)
{
    const char  **k, **v;
    ngx_uint_t    i;

    k = ci->keywords.elts;
    v = ci->values.elts;

    for (i = 0; i < ci->keywords.nelts; i++) {
        if (ngx_strcmp(k[i], keyword) == 0) {
            return v[i];
        }
    }

    return NULL;
}


ngx_http_fluid_devops_db_t *
ngx_http_fluid_devops_db_get(ngx_conf_t *cf, ngx_array_t *dbs,
    ngx_http_fluid_devops_conninfo_t *ci,
    ngx_http_fluid_devops_pool_conf_t *pc)
{
    u_char                       *p;
    size_t                        len;
    ngx_uint_t                    i, j, n;
    const char                   *options, **k, **v;
    ngx_http_fluid_devops_db_t  **dbp, *db;

    dbp = dbs->elts;

    for (i = 0; i < dbs->nelts; i++) {
        if (dbp[i]->ci == ci
            && ngx_memcmp(&dbp[i]->conf, pc,
                          sizeof(ngx_http_fluid_devops_pool_conf_t)) == 0)
        {
            return dbp[i];
        }
    }

    db = ngx_pcalloc(cf->pool, sizeof(ngx_http_fluid_devops_db_t));
    if (db == NULL) {
        return NULL;
    }

    dbp = ngx_array_push(dbs);
    if (dbp == NULL) {
        return NULL;
    }

    *dbp = db;

    db->ci = ci;
    db->conf = *pc;

    n = ci->keywords.nelts;

    db->keywords = ngx_pcalloc(cf->pool, (n + 2) * sizeof(char *));
    db->values = ngx_pcalloc(cf->pool, (n + 2) * sizeof(char *));
    if (db->keywords == NULL || db->values == NULL) {
        return NULL;
    }

    k = ci->keywords.elts;
    v = ci->values.elts;
    options = NULL;

    for (i = 0, j = 0; i < n; i++) {
        if (ngx_strcmp(k[i], "options") == 0) {
            options = v[i];
            continue;
        }

        db->keywords[j] = k[i];
        db->values[j] = v[i];
        j++;
    }

    /*
     * the server cancels and rolls back a statement a little before the
     * module would stop waiting, so the answer is the server's and true;
     * the module's own timer is for a server or network that stalls.
     * TODO: PgBouncer refuses the "options" startup parameter unless told
     * to ignore it, and then the server-side timeout is lost.
     */
    len = (options ? ngx_strlen(options) : 0)
          + sizeof(" -c statement_timeout=ms") + NGX_INT_T_LEN;

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        return NULL;
    }

    db->keywords[j] = "options";
    db->values[j] = (char *) p;

    if (options && *options) {
        p = ngx_sprintf(p, "%s ", options);
    }

    p = ngx_sprintf(p, "-c statement_timeout=%Mms",
                    ngx_max(pc->query_timeout - pc->query_timeout / 10, 1));
    *p = '\0';

    ngx_queue_init(&db->idle);
    ngx_queue_init(&db->active);
    ngx_queue_init(&db->waiting);

    return db;
}


/* run time: queries */

void
ngx_http_fluid_devops_db_query(ngx_http_fluid_devops_query_t *q)
{
    ngx_queue_t                   *qe;
    ngx_http_fluid_devops_db_t    *db;
    ngx_http_fluid_devops_conn_t  *conn;

    db = q->db;

    q->rc = NGX_HTTP_FLUID_DEVOPS_DB_OK;
    q->conn = NULL;
    q->done = 0;
    q->waiting = 0;

    if (!ngx_queue_empty(&db->idle)) {
        qe = ngx_queue_head(&db->idle);
        conn = ngx_queue_data(qe, ngx_http_fluid_devops_conn_t, queue);

        ngx_http_fluid_devops_conn_send(conn, q);
        return;
    }

    if (db->nconns < db->conf.max_conns) {
        ngx_http_fluid_devops_conn_open(db, q);
        return;
    }

    if (db->nwaiting >= db->conf.max_waiting) {
        if (db->warned != ngx_time()) {
            db->warned = ngx_time();
            ngx_log_error(NGX_LOG_WARN, q->log, 0,
                          "fluid devops: all %ui connections to database "
                          "\"%V\" are busy and %ui deliveries wait already",
                          db->conf.max_conns, &db->ci->display,
                          db->nwaiting);
        }

        ngx_http_fluid_devops_query_finish(q,
                                      NGX_HTTP_FLUID_DEVOPS_DB_UNAVAILABLE,
                                      NULL);
        return;
    }

    ngx_queue_insert_tail(&db->waiting, &q->queue);
    db->nwaiting++;
    q->waiting = 1;

    ngx_memzero(&q->wait, sizeof(ngx_event_t));
    q->wait.handler = ngx_http_fluid_devops_query_wait_timeout;
    q->wait.data = q;
    q->wait.log = q->log;

    ngx_add_timer(&q->wait, db->conf.wait_timeout);
}


/* the caller no longer wants the answer: its request is going away */

void
ngx_http_fluid_devops_db_abandon(ngx_http_fluid_devops_query_t *q)
{
    if (q->done) {
        return;
    }

    q->done = 1;

    if (q->waiting) {
        ngx_queue_remove(&q->queue);
        q->db->nwaiting--;
        q->waiting = 0;

        if (q->wait.timer_set) {
            ngx_del_timer(&q->wait);
        }

        return;
    }

    if (q->conn) {
        /* the connection finishes its work and goes back to the pool */
        q->conn->q = NULL;
        q->conn = NULL;
    }
}


static void
ngx_http_fluid_devops_query_wait_timeout(ngx_event_t *ev)
{
    ngx_http_fluid_devops_db_t     *db;
    ngx_http_fluid_devops_query_t  *q;

    q = ev->data;
    db = q->db;

    ngx_queue_remove(&q->queue);
    db->nwaiting--;
    q->waiting = 0;

    if (db->warned != ngx_time()) {
        db->warned = ngx_time();
        ngx_log_error(NGX_LOG_WARN, q->log, 0,
                      "fluid devops: no connection to database \"%V\" "
                      "became free within %Mms",
                      &db->ci->display, db->conf.wait_timeout);
    }

    ngx_http_fluid_devops_query_finish(q, NGX_HTTP_FLUID_DEVOPS_DB_UNAVAILABLE,
                                       NULL);
}


static void
ngx_http_fluid_devops_query_finish(ngx_http_fluid_devops_query_t *q,
    ngx_http_fluid_devops_db_rc_e rc, PGresult *res)
{
    if (q->done) {
        return;
    }

    q->done = 1;
    q->conn = NULL;
    q->rc = rc;

    q->handler(q, res);
}


static ngx_http_fluid_devops_query_t *
ngx_http_fluid_devops_query_dequeue(ngx_http_fluid_devops_db_t *db)
{
    ngx_queue_t                    *qe;
    ngx_http_fluid_devops_query_t  *q;

    if (ngx_queue_empty(&db->waiting)) {
        return NULL;
    }

    qe = ngx_queue_head(&db->waiting);
    q = ngx_queue_data(qe, ngx_http_fluid_devops_query_t, queue);

    ngx_queue_remove(qe);
    db->nwaiting--;
    q->waiting = 0;

    if (q->wait.timer_set) {
        ngx_del_timer(&q->wait);
    }

    return q;
}


/* run time: connections */

static void
ngx_http_fluid_devops_conn_open(ngx_http_fluid_devops_db_t *db,
    ngx_http_fluid_devops_query_t *q)
{
    ngx_http_fluid_devops_conn_t  *conn;

    conn = ngx_calloc(sizeof(ngx_http_fluid_devops_conn_t), ngx_cycle->log);
    if (conn == NULL) {
        if (q) {
            ngx_http_fluid_devops_query_finish(q,
                                      NGX_HTTP_FLUID_DEVOPS_DB_UNAVAILABLE,
                                      NULL);
        }

        return;
    }

    conn->db = db;
    conn->log = *ngx_cycle->log;
    conn->log.handler = NULL;
    conn->log.data = NULL;
    conn->log.action = "connecting to the database";
    conn->born = ngx_current_msec;
    conn->state = NGX_HTTP_FLUID_DEVOPS_CONNECTING;

    conn->timer.handler = ngx_http_fluid_devops_conn_timeout;
    conn->timer.data = conn;
    conn->timer.log = &conn->log;

    ngx_queue_insert_tail(&db->active, &conn->queue);
    db->nconns++;

    if (q) {
        conn->q = q;
        q->conn = conn;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, &conn->log, 0,
                   "fluid devops: connecting to \"%V\"", &db->ci->display);

    conn->pg = PQconnectStartParams(db->keywords, db->values, 0);

    if (conn->pg == NULL) {
        ngx_http_fluid_devops_conn_connect_failed(conn, "out of memory");
        return;
    }

    if (PQstatus(conn->pg) == CONNECTION_BAD) {
        ngx_http_fluid_devops_conn_connect_failed(conn, NULL);
        return;
    }

    PQsetNoticeReceiver(conn->pg, ngx_http_fluid_devops_conn_notice, conn);

    if (PQsetnonblocking(conn->pg, 1) != 0) {
        ngx_http_fluid_devops_conn_connect_failed(conn, NULL);
        return;
    }

    /*
     * libpq's connect_timeout is not applied by PQconnectPoll.
     * TODO: the timer covers the whole host list, so a first host that
     * drops packets keeps the later ones from being tried.
     */
    ngx_add_timer(&conn->timer, db->conf.connect_timeout);

    ngx_http_fluid_devops_conn_connect(conn);
}


static void
ngx_http_fluid_devops_conn_connect(ngx_http_fluid_devops_conn_t *conn)
{
    PostgresPollingStatusType  st;

    for ( ;; ) {
        st = PQconnectPoll(conn->pg);

        /* with several hosts or an SSL retry libpq moves to a new socket */
        if (st != PGRES_POLLING_FAILED
            && ngx_http_fluid_devops_conn_socket(conn) != NGX_OK)
        {
            ngx_http_fluid_devops_conn_connect_failed(conn,
                                                "could not watch the socket");
            return;
        }

        switch (st) {

        case PGRES_POLLING_OK:
            ngx_http_fluid_devops_conn_connected(conn);
            return;

        case PGRES_POLLING_FAILED:
            ngx_http_fluid_devops_conn_connect_failed(conn, NULL);
            return;

        case PGRES_POLLING_READING:
            if (conn->c->write->active
                && ngx_del_event(conn->c->write, NGX_WRITE_EVENT, 0)
                   != NGX_OK)
            {
                ngx_http_fluid_devops_conn_connect_failed(conn,
                                                "could not watch the socket");
                return;
            }

            return;

        case PGRES_POLLING_WRITING:
            if (!conn->c->write->active
                && ngx_add_event(conn->c->write, NGX_WRITE_EVENT, 0)
                   != NGX_OK)
            {
                ngx_http_fluid_devops_conn_connect_failed(conn,
                                                "could not watch the socket");
                return;
            }

            return;

        default:
            /* PGRES_POLLING_ACTIVE: not used by libpq any more; poll again */
            break;
        }
    }
}


static void
ngx_http_fluid_devops_conn_connected(ngx_http_fluid_devops_conn_t *conn)
{
    ngx_http_fluid_devops_db_t  *db;

    db = conn->db;

    if (db->down) {
        db->down = 0;
        ngx_log_error(NGX_LOG_NOTICE, &conn->log, 0,
                      "fluid devops: database \"%V\" is reachable again",
                      &db->ci->display);
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, &conn->log, 0,
                   "fluid devops: connected to \"%s\" port %s",
                   PQhost(conn->pg), PQport(conn->pg));

    conn->log.action = "talking to the database";

    if (conn->c->write->active
        && ngx_del_event(conn->c->write, NGX_WRITE_EVENT, 0) != NGX_OK)
    {
        ngx_http_fluid_devops_conn_lost(conn, "could not watch the socket");
        return;
    }

    if (!db->conf.prepare) {
        if (conn->timer.timer_set) {
            ngx_del_timer(&conn->timer);
        }

        if (conn->q) {
            ngx_http_fluid_devops_conn_send(conn, conn->q);

        } else {
            ngx_http_fluid_devops_conn_release(conn);
        }

        return;
    }

    /* prepared once per connection; the connect timer still runs */
    conn->state = NGX_HTTP_FLUID_DEVOPS_PREPARING;

    if (!PQsendPrepare(conn->pg, NGX_HTTP_FLUID_DEVOPS_STMT,
                       NGX_HTTP_FLUID_DEVOPS_SQL, 0, NULL))
    {
        ngx_http_fluid_devops_conn_lost(conn, "PQsendPrepare");
        return;
    }

    if (ngx_http_fluid_devops_conn_flush(conn) == NGX_ERROR) {
        ngx_http_fluid_devops_conn_lost(conn, "PQflush");
    }
}


static void
ngx_http_fluid_devops_conn_connect_failed(ngx_http_fluid_devops_conn_t *conn,
    const char *why)
{
    u_char                       buf[512], *last;
    uint32_t                     crc;
    ngx_http_fluid_devops_db_t  *db;

    db = conn->db;

    if (why) {
        last = ngx_cpystrn(buf, (u_char *) why, sizeof(buf));

    } else {
        last = ngx_http_fluid_devops_db_error(conn->pg, buf, sizeof(buf));
    }

    crc = ngx_crc32_short(buf, last - buf) | 1;

    if (db->down != crc) {
        db->down = crc;
        ngx_log_error(NGX_LOG_ERR, &conn->log, 0,
                      "fluid devops: could not connect to database \"%V\": "
                      "%*s", &db->ci->display, last - buf, buf);

    } else {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, &conn->log, 0,
                       "fluid devops: database still unreachable: %*s",
                       last - buf, buf);
    }

    if (conn->q) {
        ngx_http_fluid_devops_query_finish(conn->q,
                                      NGX_HTTP_FLUID_DEVOPS_DB_UNAVAILABLE,
                                      NULL);
        conn->q = NULL;
    }

    ngx_http_fluid_devops_conn_close(conn, 1);
}


/*
 * Wraps libpq's current socket in an nginx connection, once per socket.
 * Events are level-triggered: libpq reads and writes by itself and does
 * not tell whether it drained the socket.
 */

static ngx_int_t
ngx_http_fluid_devops_conn_socket(ngx_http_fluid_devops_conn_t *conn)
{
    int                fd;
    struct stat        st;
    ngx_connection_t  *c;

    fd = PQsocket(conn->pg);
    if (fd == -1) {
        return NGX_ERROR;
    }

    if (fstat(fd, &st) == -1) {
        return NGX_ERROR;
    }

    /* the same number may now stand for a new socket: compare inodes */
    if (conn->c && conn->c->fd == fd && conn->ino == st.st_ino) {
        return NGX_OK;
    }

    if (conn->c) {
        ngx_http_fluid_devops_conn_unwrap(conn);
    }

    c = ngx_get_connection(fd, &conn->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    /* libpq owns the descriptor: nginx must never close it */
    c->shared = 1;
    c->data = conn;
    c->log = &conn->log;
    c->read->log = &conn->log;
    c->write->log = &conn->log;
    c->read->handler = ngx_http_fluid_devops_conn_handler;
    c->write->handler = ngx_http_fluid_devops_conn_handler;

    conn->c = c;
    conn->ino = st.st_ino;

    if (ngx_add_event(c->read, NGX_READ_EVENT, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* forgets the nginx side of a socket that libpq closes or has closed */

static void
ngx_http_fluid_devops_conn_unwrap(ngx_http_fluid_devops_conn_t *conn)
{
    ngx_connection_t  *c;

    c = conn->c;
    conn->c = NULL;

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    /* closing the descriptor drops it from epoll: no system call here */
    if (ngx_del_conn) {
        ngx_del_conn(c, NGX_CLOSE_EVENT);

    } else {
        if (c->read->active) {
            ngx_del_event(c->read, NGX_READ_EVENT, NGX_CLOSE_EVENT);
        }

        if (c->write->active) {
            ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_CLOSE_EVENT);
        }
    }

    c->read->closed = 1;
    c->write->closed = 1;

    ngx_free_connection(c);

    c->fd = (ngx_socket_t) -1;
}


static void
ngx_http_fluid_devops_conn_send(ngx_http_fluid_devops_conn_t *conn,
    ngx_http_fluid_devops_query_t *q)
{
    int                          ok;
    u_char                       buf[512], *last;
    ngx_uint_t                   reused, level;
    ngx_http_fluid_devops_db_t  *db;

    db = conn->db;

    if (conn->state == NGX_HTTP_FLUID_DEVOPS_IDLE) {
        ngx_queue_remove(&conn->queue);
        ngx_queue_insert_tail(&db->active, &conn->queue);
    }

    conn->state = NGX_HTTP_FLUID_DEVOPS_BUSY;
    conn->c->idle = 0;
    conn->timer.cancelable = 0;
    conn->q = q;
    q->conn = conn;

    if (conn->timer.timer_set) {
        ngx_del_timer(&conn->timer);
    }

    if (db->conf.prepare) {
        ok = PQsendQueryPrepared(conn->pg, NGX_HTTP_FLUID_DEVOPS_STMT,
                                 NGX_HTTP_FLUID_DEVOPS_NPARAMS, q->values,
                                 q->lengths, q->formats, 0);
    } else {
        ok = PQsendQueryParams(conn->pg, NGX_HTTP_FLUID_DEVOPS_SQL,
                               NGX_HTTP_FLUID_DEVOPS_NPARAMS, NULL, q->values,
                               q->lengths, q->formats, 0);
    }

    if (ok && ngx_http_fluid_devops_conn_flush(conn) != NGX_ERROR) {
        ngx_add_timer(&conn->timer, db->conf.query_timeout);
        return;
    }

    /*
     * A pooled connection that fails before its query left is stale (the
     * server restarted or ended it): try once more on a fresh one.
     */

    reused = conn->reused;
    level = reused ? NGX_LOG_INFO : NGX_LOG_ERR;

    last = ngx_http_fluid_devops_db_error(conn->pg, buf, sizeof(buf));

    ngx_log_error(level, &conn->log, 0,
                  "fluid devops: could not send the query to database "
                  "\"%V\": %*s", &db->ci->display, last - buf, buf);

    conn->q = NULL;
    q->conn = NULL;

    if (reused && !q->retried) {
        q->retried = 1;
        ngx_http_fluid_devops_conn_free(conn);
        ngx_http_fluid_devops_conn_open(db, q);
        return;
    }

    ngx_http_fluid_devops_conn_close(conn, 0);

    ngx_http_fluid_devops_query_finish(q, NGX_HTTP_FLUID_DEVOPS_DB_UNAVAILABLE,
                                       NULL);
}


/* PQflush until libpq's buffer is empty, waiting for write readiness */

static ngx_int_t
ngx_http_fluid_devops_conn_flush(ngx_http_fluid_devops_conn_t *conn)
{
    int                rc;
    ngx_connection_t  *c;

    c = conn->c;

    rc = PQflush(conn->pg);

    if (rc < 0) {
        return NGX_ERROR;
    }

    if (rc == 1) {
        conn->flushing = 1;

        if (!c->write->active
            && ngx_add_event(c->write, NGX_WRITE_EVENT, 0) != NGX_OK)
        {
            return NGX_ERROR;
        }

        return NGX_AGAIN;
    }

    conn->flushing = 0;

    if (c->write->active
        && ngx_del_event(c->write, NGX_WRITE_EVENT, 0) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_fluid_devops_conn_handler(ngx_event_t *ev)
{
    ngx_connection_t              *c;
    ngx_http_fluid_devops_conn_t  *conn;

    c = ev->data;
    conn = c->data;

    switch (conn->state) {

    case NGX_HTTP_FLUID_DEVOPS_CONNECTING:
        ngx_http_fluid_devops_conn_connect(conn);
        return;

    case NGX_HTTP_FLUID_DEVOPS_IDLE:
        /* c->close: nginx is shutting down and closes idle connections */
        if (c->close) {
            ngx_http_fluid_devops_conn_close(conn, 0);
            return;
        }

        ngx_http_fluid_devops_conn_idle_read(conn);
        return;

    default:
        break;
    }

    if (ev->write) {
        if (ngx_http_fluid_devops_conn_flush(conn) == NGX_ERROR) {
            ngx_http_fluid_devops_conn_lost(conn, "PQflush");
        }

        return;
    }

    ngx_http_fluid_devops_conn_read(conn);
}


static void
ngx_http_fluid_devops_conn_read(ngx_http_fluid_devops_conn_t *conn)
{
    PGresult  *res;

    if (!PQconsumeInput(conn->pg)) {
        ngx_http_fluid_devops_conn_lost(conn, "PQconsumeInput");
        return;
    }

    /* the server may answer before all was sent: keep flushing */
    if (conn->flushing
        && ngx_http_fluid_devops_conn_flush(conn) == NGX_ERROR)
    {
        ngx_http_fluid_devops_conn_lost(conn, "PQflush");
        return;
    }

    while (!PQisBusy(conn->pg)) {
        res = PQgetResult(conn->pg);

        if (res == NULL) {
            ngx_http_fluid_devops_conn_result(conn);
            return;
        }

        /*
         * the row comes before the commit: an error at commit time (a
         * deferred constraint, say) follows it and is what counts
         */
        if (conn->res == NULL
            || (PQresultStatus(res) == PGRES_FATAL_ERROR
                && PQresultStatus(conn->res) != PGRES_FATAL_ERROR))
        {
            if (conn->res) {
                PQclear(conn->res);
            }

            conn->res = res;

        } else {
            PQclear(res);
        }
    }
}


/* the statement is complete: answer the query, then reuse the connection */

static void
ngx_http_fluid_devops_conn_result(ngx_http_fluid_devops_conn_t *conn)
{
    char                           *state;
    PGresult                       *res;
    ngx_log_t                      *log;
    ngx_uint_t                      clean, level;
    ngx_http_fluid_devops_db_t     *db;
    ngx_http_fluid_devops_query_t  *q;
    ngx_http_fluid_devops_db_rc_e   rc;

    db = conn->db;
    res = conn->res;
    conn->res = NULL;

    if (conn->timer.timer_set) {
        ngx_del_timer(&conn->timer);
    }

    if (conn->state == NGX_HTTP_FLUID_DEVOPS_PREPARING) {
        ngx_http_fluid_devops_conn_prepared(conn, res);
        return;
    }

    q = conn->q;
    conn->q = NULL;

    rc = NGX_HTTP_FLUID_DEVOPS_DB_OK;
    state = NULL;

    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK
        || PQntuples(res) != 1 || PQnfields(res) != 3)
    {
        state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

        /*
         * A pooled session the server had ended (restart, failover,
         * pg_terminate_backend) answers with a FATAL error: its
         * transaction is rolled back, so one fresh try is safe.
         */
        if (q && state && conn->reused && !q->retried
            && ngx_strncmp(state, "57P0", 4) == 0)
        {
            ngx_log_error(NGX_LOG_INFO, &conn->log, 0,
                          "fluid devops: database \"%V\" ended a pooled "
                          "session (SQLSTATE \"%s\"), trying a new one",
                          &db->ci->display, state);

            q->retried = 1;
            q->conn = NULL;
            PQclear(res);
            ngx_http_fluid_devops_conn_free(conn);
            ngx_http_fluid_devops_conn_open(db, q);
            return;
        }

        rc = ngx_http_fluid_devops_db_classify(state);

        log = q ? q->log : &conn->log;
        level = (rc == NGX_HTTP_FLUID_DEVOPS_DB_UNAVAILABLE) ? NGX_LOG_WARN
                                                             : NGX_LOG_ERR;

        /* the primary message only: DETAIL lines can echo key values */
        ngx_log_error(level, log, 0,
                      "fluid devops: delivery statement failed with "
                      "SQLSTATE \"%s\": %s", state ? state : "none",
                      res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                          : "no result");
    }

    /*
     * a server that turned read-only (a demoted primary) is left, so that
     * target_session_attrs finds the new primary on the next connect
     */
    clean = PQstatus(conn->pg) == CONNECTION_OK
            && PQtransactionStatus(conn->pg) == PQTRANS_IDLE
            && !(state && ngx_strcmp(state, "25006") == 0);

    if (clean) {
        ngx_http_fluid_devops_conn_release(conn);

    } else {
        ngx_http_fluid_devops_conn_close(conn, 0);
    }

    if (q) {
        ngx_http_fluid_devops_query_finish(q, rc, res);
    }

    if (res) {
        PQclear(res);
    }
}


static void
ngx_http_fluid_devops_conn_prepared(ngx_http_fluid_devops_conn_t *conn,
    PGresult *res)
{
    char                           *state;
    u_char                          buf[512], *last;
    ngx_http_fluid_devops_query_t  *q;
    ngx_http_fluid_devops_db_rc_e   rc;

    if (res && PQresultStatus(res) == PGRES_COMMAND_OK) {
        PQclear(res);

        if (conn->q) {
            ngx_http_fluid_devops_conn_send(conn, conn->q);

        } else {
            ngx_http_fluid_devops_conn_release(conn);
        }

        return;
    }

    state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    rc = ngx_http_fluid_devops_db_classify(state);

    if (res) {
        last = ngx_cpystrn(buf, (u_char *)
                           PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY),
                           sizeof(buf));
    } else {
        last = ngx_http_fluid_devops_db_error(conn->pg, buf, sizeof(buf));
    }

    ngx_log_error(NGX_LOG_ERR, &conn->log, 0,
                  "fluid devops: could not prepare the delivery statement "
                  "on database \"%V\" (SQLSTATE \"%s\"): %*s; is "
                  "conf/schema.sql loaded?", &conn->db->ci->display,
                  state ? state : "none", last - buf, buf);

    q = conn->q;
    conn->q = NULL;

    if (q) {
        ngx_http_fluid_devops_query_finish(q, rc, NULL);
    }

    if (res) {
        PQclear(res);
    }

    ngx_http_fluid_devops_conn_close(conn, 0);
}


/* an idle connection speaks only when the server ends it */

static void
ngx_http_fluid_devops_conn_idle_read(ngx_http_fluid_devops_conn_t *conn)
{
    u_char    buf[512], *last;
    PGresult  *res;

    if (PQconsumeInput(conn->pg) && PQstatus(conn->pg) == CONNECTION_OK) {

        while (!PQisBusy(conn->pg)) {
            res = PQgetResult(conn->pg);
            if (res == NULL) {
                break;
            }

            PQclear(res);
        }

        if (PQstatus(conn->pg) == CONNECTION_OK) {
            return;
        }
    }

    last = ngx_http_fluid_devops_db_error(conn->pg, buf, sizeof(buf));

    ngx_log_error(NGX_LOG_INFO, &conn->log, 0,
                  "fluid devops: database \"%V\" closed an idle connection: "
                  "%*s", &conn->db->ci->display, last - buf, buf);

    ngx_http_fluid_devops_conn_close(conn, 0);
}


static void
ngx_http_fluid_devops_conn_timeout(ngx_event_t *ev)
{
    ngx_http_fluid_devops_db_t     *db;
    ngx_http_fluid_devops_conn_t   *conn;
    ngx_http_fluid_devops_query_t  *q;

    conn = ev->data;
    db = conn->db;

    switch (conn->state) {

    case NGX_HTTP_FLUID_DEVOPS_CONNECTING:
    case NGX_HTTP_FLUID_DEVOPS_PREPARING:
        ngx_http_fluid_devops_conn_connect_failed(conn,
                                                  "connection timed out");
        return;

    case NGX_HTTP_FLUID_DEVOPS_BUSY:
        q = conn->q;
        conn->q = NULL;

        ngx_log_error(NGX_LOG_ERR, q ? q->log : &conn->log, 0,
                      "fluid devops: delivery statement on database \"%V\" "
                      "timed out after %Mms", &db->ci->display,
                      db->conf.query_timeout);

        /*
         * statement_timeout ends it on the server, which rolls it back;
         * the connection is reused once its answer has arrived.
         * TODO: with libpq 17, send a cancel with PQcancelStart() too.
         */
        conn->state = NGX_HTTP_FLUID_DEVOPS_DRAINING;
        ngx_add_timer(&conn->timer, db->conf.query_timeout);

        if (q) {
            ngx_http_fluid_devops_query_finish(q,
                                      NGX_HTTP_FLUID_DEVOPS_DB_UNAVAILABLE,
                                      NULL);
        }

        return;

    case NGX_HTTP_FLUID_DEVOPS_DRAINING:
        ngx_log_error(NGX_LOG_WARN, &conn->log, 0,
                      "fluid devops: closing a connection to database "
                      "\"%V\" whose statement did not end",
                      &db->ci->display);
        ngx_http_fluid_devops_conn_close(conn, 0);
        return;

    default:
        /* idle timeout or end of lifetime */
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, &conn->log, 0,
                       "fluid devops: closing idle connection");
        ngx_http_fluid_devops_conn_close(conn, 0);
        return;
    }
}


/* the connection broke while a statement was under way */

static void
ngx_http_fluid_devops_conn_lost(ngx_http_fluid_devops_conn_t *conn,
    const char *what)
{
    u_char                         buf[512], *last;
    ngx_http_fluid_devops_query_t  *q;

    q = conn->q;
    conn->q = NULL;

    last = ngx_http_fluid_devops_db_error(conn->pg, buf, sizeof(buf));

    ngx_log_error(NGX_LOG_ERR, q ? q->log : &conn->log, 0,
                  "fluid devops: lost the connection to database \"%V\" "
                  "(%s): %*s", &conn->db->ci->display, what, last - buf,
                  buf);

    ngx_http_fluid_devops_conn_close(conn, 0);

    if (q) {
        ngx_http_fluid_devops_query_finish(q,
                                      NGX_HTTP_FLUID_DEVOPS_DB_UNAVAILABLE,
                                      NULL);
    }
}


static void
ngx_http_fluid_devops_conn_release(ngx_http_fluid_devops_conn_t *conn)
{
    ngx_msec_t                      age, wait;
    ngx_http_fluid_devops_db_t     *db;
    ngx_http_fluid_devops_query_t  *q;

    db = conn->db;
    conn->reused = 1;

    age = ngx_current_msec - conn->born;

    /* deliveries waiting go first, even in a worker that is quitting */
    if (age < db->conf.max_lifetime) {
        q = ngx_http_fluid_devops_query_dequeue(db);
        if (q) {
            ngx_http_fluid_devops_conn_send(conn, q);
            return;
        }
    }

    if (ngx_exiting || ngx_terminate || ngx_quit
        || age >= db->conf.max_lifetime)
    {
        ngx_http_fluid_devops_conn_close(conn, 0);
        return;
    }

    if (conn->state != NGX_HTTP_FLUID_DEVOPS_IDLE) {
        ngx_queue_remove(&conn->queue);
        ngx_queue_insert_head(&db->idle, &conn->queue);
    }

    conn->state = NGX_HTTP_FLUID_DEVOPS_IDLE;
    conn->log.action = NULL;
    conn->c->idle = 1;

    wait = ngx_min(db->conf.idle_timeout, db->conf.max_lifetime - age);

    /* an idle connection does not keep a quitting worker alive */
    conn->timer.cancelable = 1;
    ngx_add_timer(&conn->timer, wait);
}


/*
 * Ends a connection; then a waiting query gets a new one, unless the
 * database has just proven unreachable, in which case all waiting fail.
 */

static void
ngx_http_fluid_devops_conn_close(ngx_http_fluid_devops_conn_t *conn,
    ngx_uint_t unreachable)
{
    ngx_http_fluid_devops_db_t     *db;
    ngx_http_fluid_devops_query_t  *q;

    db = conn->db;

    ngx_http_fluid_devops_conn_free(conn);

    if (unreachable) {
        while ((q = ngx_http_fluid_devops_query_dequeue(db)) != NULL) {
            ngx_http_fluid_devops_query_finish(q,
                                      NGX_HTTP_FLUID_DEVOPS_DB_UNAVAILABLE,
                                      NULL);
        }

        return;
    }

    if (db->nconns < db->conf.max_conns) {
        q = ngx_http_fluid_devops_query_dequeue(db);
        if (q) {
            ngx_http_fluid_devops_conn_open(db, q);
        }
    }
}


static void
ngx_http_fluid_devops_conn_free(ngx_http_fluid_devops_conn_t *conn)
{
    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, &conn->log, 0,
                   "fluid devops: closing connection %p", conn);

    ngx_queue_remove(&conn->queue);
    conn->db->nconns--;

    if (conn->timer.timer_set) {
        ngx_del_timer(&conn->timer);
    }

    if (conn->c) {
        ngx_http_fluid_devops_conn_unwrap(conn);
    }

    if (conn->res) {
        PQclear(conn->res);
    }

    if (conn->pg) {
        PQfinish(conn->pg);
    }

    ngx_free(conn);
}


/* every connection of the worker, when it exits */

void
ngx_http_fluid_devops_db_exit(ngx_array_t *dbs)
{
    ngx_uint_t                     i;
    ngx_queue_t                   *qe;
    ngx_http_fluid_devops_db_t   **dbp;
    ngx_http_fluid_devops_conn_t  *conn;

    dbp = dbs->elts;

    for (i = 0; i < dbs->nelts; i++) {

        while (!ngx_queue_empty(&dbp[i]->idle)) {
            qe = ngx_queue_head(&dbp[i]->idle);
            conn = ngx_queue_data(qe, ngx_http_fluid_devops_conn_t, queue);
            ngx_http_fluid_devops_conn_free(conn);
        }

        while (!ngx_queue_empty(&dbp[i]->active)) {
            qe = ngx_queue_head(&dbp[i]->active);
            conn = ngx_queue_data(qe, ngx_http_fluid_devops_conn_t, queue);

            if (conn->q) {
                conn->q->conn = NULL;
            }

            ngx_http_fluid_devops_conn_free(conn);
        }
    }
}


/*
 * Which failures are worth DevOps' redelivery (503): the server going away,
 * being overloaded or cancelling us; the rest are answered 500.
 */

static ngx_http_fluid_devops_db_rc_e
ngx_http_fluid_devops_db_classify(const char *sqlstate)
{
    if (sqlstate == NULL
        || ngx_strncmp(sqlstate, "08", 2) == 0        /* connection */
        || ngx_strncmp(sqlstate, "53", 2) == 0        /* resources */
        || ngx_strncmp(sqlstate, "57", 2) == 0        /* shutdown, cancel */
        || ngx_strncmp(sqlstate, "58", 2) == 0        /* system error */
        || ngx_strcmp(sqlstate, "40001") == 0         /* serialization */
        || ngx_strcmp(sqlstate, "40P01") == 0         /* deadlock */
        || ngx_strcmp(sqlstate, "55P03") == 0         /* lock not available */
        || ngx_strcmp(sqlstate, "25006") == 0)        /* read-only server */
    {
        return NGX_HTTP_FLUID_DEVOPS_DB_UNAVAILABLE;
    }

    return NGX_HTTP_FLUID_DEVOPS_DB_FAILED;
}


/* libpq's last error on one line, without its trailing newline */

static u_char *
ngx_http_fluid_devops_db_error(PGconn *pg, u_char *buf, size_t len)
{
    return ngx_http_fluid_devops_db_flatten(PQerrorMessage(pg), buf, len);
}


/*
 * A libpq message on one line; what follows a DETAIL, CONTEXT, QUERY, HINT
 * or LINE part (row values, SQL) is left out.
 */

static u_char *
ngx_http_fluid_devops_db_flatten(const char *msg, u_char *buf, size_t len)
{
    u_char      *q, *end;
    ngx_uint_t   i;
    const char  *p, *line;

    static const char  *cut[] = { "DETAIL:", "CONTEXT:", "QUERY:", "HINT:",
                                  "LINE ", NULL };

    q = buf;
    end = buf + len;
    line = msg;

    for (p = msg; *p && q < end; p++) {

        if (p == line) {
            while (*p == ' ' || *p == '\t') {
                p++;
            }

            for (i = 0; cut[i]; i++) {
                if (ngx_strncmp(p, cut[i], ngx_strlen(cut[i])) == 0) {
                    goto done;
                }
            }

            if (*p == '\0') {
                break;
            }
        }

        if (*p == '\n' || *p == '\r' || *p == '\t') {
            if (q > buf && q[-1] != ' ') {
                *q++ = ' ';
            }

            line = p + 1;
            continue;
        }

        *q++ = *p;
    }

done:

    while (q > buf && (q[-1] == ' ' || q[-1] == '.')) {
        q--;
    }

    return q;
}


/*
 * libpq prints notices, and errors that arrive while no statement runs
 * (a session being ended), to stderr unless told otherwise; the primary
 * message only, as for errors: DETAIL lines can hold row values
 */

static void
ngx_http_fluid_devops_conn_notice(void *arg, const PGresult *res)
{
    char                          *severity, *primary;
    u_char                         buf[512], *last;
    ngx_http_fluid_devops_conn_t  *conn = arg;

    severity = PQresultErrorField(res, PG_DIAG_SEVERITY);
    primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

    last = ngx_http_fluid_devops_db_flatten(primary ? primary : "", buf,
                                            sizeof(buf));

    ngx_log_error(NGX_LOG_INFO, &conn->log, 0,
                  "fluid devops: database \"%V\" says: %s: \"%*s\"",
                  &conn->db->ci->display, severity ? severity : "NOTICE",
                  last - buf, buf);
}
