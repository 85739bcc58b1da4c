/*
 * clock.c - lwIP's time: sys_now() on the guest clock, its timers run
 * from the runtime's timer.
 *
 * lwIP reads the time only through sys_now(), and liblwip.so calls it
 * through its PLT: this definition, in the guest executable, takes the
 * place of the library's (which reads the host's clock). So lwIP's
 * timeouts (TCP's 250 ms fast and 500 ms slow timers: retransmission,
 * delayed ACKs, persist, keepalive, TIME_WAIT; ARP and IP reassembly
 * ageing) run on colo_clock_ms(): they stand still while the guest is
 * paused, and a replica resumes them where its primary was; on a fed
 * clock (colo_guest.h) they fire at the fed times only. The timeout
 * list itself is in lwIP's memory and is copied with the rest.
 *
 * colo_net_timer() runs sys_check_timeouts() (lwIP's NO_SYS main-loop
 * call; it exists in this NO_SYS=0 build too and needs no thread), which
 * fires what is due; cyclic timers that fell behind are restarted from
 * now, not run once per missed period.
 */
#include <dlfcn.h>
#include <errno.h>

#include <lwip/sys.h>
#include <lwip/timeouts.h>

#include "colo_guest.h"
#include "colo_net_int.h"

u32_t sys_now(void)
{
	/* wraps after 49 days: lwIP compares times by difference */
	return (u32_t)colo_clock_ms();
}

/*
 * The sys_now() lwIP calls must be this one. It is not when the guest is
 * linked so that the executable does not export it (statically, or with
 * a version script): lwIP would then time out on the host's clock, and a
 * replica's timers would be off by the hosts' difference.
 */
int colo_net_clock_check(void)
{
	void *found = dlsym(RTLD_DEFAULT, "sys_now");

	if (found && found != (void *)sys_now) {
		colo_log("colo_net: lwIP calls the library's sys_now(), not "
			 "the guest's: its timers would run on the host clock; "
			 "link the guest dynamically against liblwip, without "
			 "hiding sys_now");
		return -ENOEXEC;
	}
	return 0;
}

void colo_net_timer(void *opaque)
{
	(void)opaque;
	if (!colo_net.started)
		return;
	colo_net.in_handler = true;
	sys_check_timeouts();
	colo_tcp_settle();
	colo_net.in_handler = false;
}
