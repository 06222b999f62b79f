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
