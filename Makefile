# Builds ngx_http_fluid_devops_module and runs its tests, demo and benchmark.
#
#   make                    the module, objs/ngx_http_fluid_devops_module.so
#   make NGINX_SRC=<dir>    the same against an upstream nginx source tree
#   make test               unit tests and the Test::Nginx suite
#   make test TEST_NGINX_LIB=<dir>   the suite on the Test::Nginx in <dir>
#   make test-valgrind      the suite with nginx under valgrind
#   make demo               the main job on a throwaway database
#   make bench              the benchmark, written to t/bench/results.md
#   make install            the module and its load_module snippet

NGINX_SRC ?=
TEST_NGINX_LIB ?=
DESTDIR ?=
MODULES_DIR ?= /usr/lib/nginx/modules

MODULE = objs/ngx_http_fluid_devops_module.so
UNIT = objs/unit-tests
UNIT_SOURCES = src/fluid_devops_payload.c src/fluid_devops_credentials.c \
               t/unit/unit_tests.c

CC ?= cc
UNIT_CFLAGS = -g -O1 -Wall -Wextra -Werror -Isrc

.PHONY: all deps test unit test-valgrind demo bench install clean FORCE

all: $(MODULE)

deps:
	@tools/deps.sh

# nginx's own make decides what to rebuild; build.sh reconfigures when the
# nginx tree (NGINX_SRC) or the module's config changes
$(MODULE): FORCE | deps
	tools/build.sh "$(NGINX_SRC)"

$(UNIT): $(UNIT_SOURCES) src/fluid_devops_payload.h \
         src/fluid_devops_credentials.h | deps
	@mkdir -p objs
	$(CC) $(UNIT_CFLAGS) -o $@ $(UNIT_SOURCES) -ljansson -lcrypto

unit: $(UNIT)
	prove --exec '' $(UNIT)

test: $(MODULE) $(UNIT)
	prove --exec '' $(UNIT)
	TEST_NGINX_LIB="$(TEST_NGINX_LIB)" t/run.sh

test-valgrind: $(MODULE) $(UNIT)
	TEST_NGINX_USE_VALGRIND=1 TEST_NGINX_LIB="$(TEST_NGINX_LIB)" t/run.sh

demo: $(MODULE)
	tools/demo.sh

bench: $(MODULE)
	t/bench/bench.sh

install: $(MODULE)
	install -d $(DESTDIR)$(MODULES_DIR) $(DESTDIR)/usr/share/nginx/modules-available
	install -m 644 $(MODULE) $(DESTDIR)$(MODULES_DIR)/
	install -m 644 conf/modules-enabled/50-mod-http-fluid-devops.conf \
	    $(DESTDIR)/usr/share/nginx/modules-available/mod-http-fluid-devops.conf

clean:
	rm -rf objs t/servroot
