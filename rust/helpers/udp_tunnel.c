// SPDX-License-Identifier: GPL-2.0

#include <net/netns/generic.h>
#include <net/sock.h>

__rust_helper void *rust_helper_net_generic(const struct net *net, unsigned int id)
{
	return net_generic(net, id);
}

__rust_helper void *rust_helper_rcu_dereference_sk_user_data(const struct sock *sk)
{
	return rcu_dereference_sk_user_data(sk);
}

__rust_helper bool rust_helper_sock_writeable(const struct sock *sk)
{
	return sock_writeable(sk);
}

/*
 * Rust reaches the fields of struct sock past sk_lock only through helpers:
 * socket_lock_t's union holds struct slock_owned as an anonymous member, which
 * C has under -fms-extensions and bindgen leaves out, so bindgen's offsets of
 * every later field are 64 bytes short of the compiler's.
 */

/* Sets sk_write_space to write_space, and *previous to what it was. */
__rust_helper void rust_helper_sk_replace_write_space(struct sock *sk,
		void (*write_space)(struct sock *sk),
		void (**previous)(struct sock *sk))
{
	*previous = READ_ONCE(sk->sk_write_space);
	WRITE_ONCE(sk->sk_write_space, write_space);
}

/* As SO_SNDBUF sets it, without net.core.wmem_max's cap, as kernel sockets may. */
__rust_helper void rust_helper_sk_lock_sndbuf(struct sock *sk, int bytes)
{
	bytes = min_t(int, bytes, INT_MAX / 2);
	sk->sk_userlocks |= SOCK_SNDBUF_LOCK;
	WRITE_ONCE(sk->sk_sndbuf, max_t(int, bytes * 2, SOCK_MIN_SNDBUF));
}
