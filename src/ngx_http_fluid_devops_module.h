/*
 * Declarations shared by the module's configuration and request handling:
 * its configuration structures and the per-request context.
 */

#ifndef _NGX_HTTP_FLUID_DEVOPS_MODULE_H_INCLUDED_
#define _NGX_HTTP_FLUID_DEVOPS_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_fluid_devops_db.h"
#include "fluid_devops_payload.h"
#include "fluid_devops_credentials.h"


typedef struct {
    ngx_array_t                         dbs;  /* of db_t pointers */
} ngx_http_fluid_devops_main_conf_t;


typedef struct {
    ngx_flag_t                          enable;
    ngx_http_fluid_devops_conninfo_t   *conninfo;
    ngx_http_complex_value_t           *workspace;
    ngx_http_complex_value_t           *board;
    ngx_http_fluid_devops_pool_conf_t   pool;
    ngx_http_fluid_devops_db_t         *db;
} ngx_http_fluid_devops_loc_conf_t;


typedef struct {
    ngx_str_t                           status;
    int64_t                             card_id;

    ngx_str_t                           workspace;
    ngx_str_t                           board;
    ngx_str_t                           username;
    ngx_str_t                           username_esc;

    u_char                              token_hash[
                                            FLUID_DEVOPS_TOKEN_HASH_LEN];

    fluid_devops_payload_t              payload;
    ngx_http_fluid_devops_query_t       query;

    unsigned                            parsed:1;
    unsigned                            queried:1;
} ngx_http_fluid_devops_ctx_t;


extern ngx_module_t  ngx_http_fluid_devops_module;


#endif /* _NGX_HTTP_FLUID_DEVOPS_MODULE_H_INCLUDED_ */
