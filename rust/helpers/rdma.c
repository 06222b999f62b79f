// SPDX-License-Identifier: GPL-2.0

#include <linux/hmm.h>
#include <linux/mmu_notifier.h>
#include <net/netlink.h>
#include <rdma/ib_verbs.h>
#include <rdma/uverbs_ioctl.h>

#if IS_BUILTIN(CONFIG_INFINIBAND)

__rust_helper bool rust_helper_ib_device_try_get(struct ib_device *dev)
{
	return ib_device_try_get(dev);
}

__rust_helper void rust_helper_ib_mark_name_assigned_by_user(struct ib_device *ibdev)
{
	ib_mark_name_assigned_by_user(ibdev);
}

__rust_helper enum ib_port_state rust_helper_ib_get_curr_port_state(struct net_device *ndev)
{
	return ib_get_curr_port_state(ndev);
}

__rust_helper int rust_helper_ib_copy_to_udata(struct ib_udata *udata, void *src, size_t len)
{
	return ib_copy_to_udata(udata, src, len);
}

__rust_helper int rust_helper_ib_copy_from_udata(void *dest, struct ib_udata *udata, size_t len)
{
	return ib_copy_from_udata(dest, udata, len);
}

__rust_helper bool rust_helper_ib_is_udata_cleared(struct ib_udata *udata, size_t offset,
						   size_t len)
{
	return ib_is_udata_cleared(udata, offset, len);
}

__rust_helper u64 rust_helper_rdma_user_mmap_get_offset(const struct rdma_user_mmap_entry *entry)
{
	return rdma_user_mmap_get_offset(entry);
}

__rust_helper struct ib_ucontext *rust_helper_rdma_udata_to_ucontext(struct ib_udata *udata)
{
	return udata ? container_of(udata, struct uverbs_attr_bundle, driver_udata)->context : NULL;
}

__rust_helper struct net *rust_helper_rdma_dev_net(struct ib_device *device)
{
	return rdma_dev_net(device);
}

__rust_helper const struct uverbs_attr *
rust_helper_uverbs_attr_get(const struct uverbs_attr_bundle *attrs_bundle, u16 idx)
{
	return uverbs_attr_get(attrs_bundle, idx);
}

__rust_helper int rust_helper__uverbs_copy_from_or_zero(void *to,
							const struct uverbs_attr_bundle *attrs_bundle,
							size_t idx, size_t size)
{
	return _uverbs_copy_from_or_zero(to, attrs_bundle, idx, size);
}

__rust_helper struct ib_ucontext *
rust_helper_ib_uverbs_get_ucontext(const struct uverbs_attr_bundle *attrs)
{
	return ib_uverbs_get_ucontext(attrs);
}

#if IS_ENABLED(CONFIG_INFINIBAND_ON_DEMAND_PAGING)

__rust_helper struct page *rust_helper_hmm_pfn_to_page(unsigned long hmm_pfn)
{
	return hmm_pfn_to_page(hmm_pfn);
}

__rust_helper bool rust_helper_mmu_notifier_range_blockable(const struct mmu_notifier_range *range)
{
	return mmu_notifier_range_blockable(range);
}

__rust_helper void rust_helper_mmu_interval_set_seq(struct mmu_interval_notifier *interval_sub,
						    unsigned long cur_seq)
{
	mmu_interval_set_seq(interval_sub, cur_seq);
}

#endif

#endif

__rust_helper void *rust_helper_ib_virt_dma_to_ptr(u64 dma_addr)
{
	return ib_virt_dma_to_ptr(dma_addr);
}

__rust_helper bool rust_helper_virt_addr_valid(const void *addr)
{
	return virt_addr_valid(addr);
}

__rust_helper struct nlattr *rust_helper_nla_nest_start(struct sk_buff *skb, int attrtype)
{
	return nla_nest_start(skb, attrtype);
}

__rust_helper int rust_helper_nla_nest_end(struct sk_buff *skb, struct nlattr *start)
{
	return nla_nest_end(skb, start);
}

__rust_helper void rust_helper_nla_nest_cancel(struct sk_buff *skb, struct nlattr *start)
{
	nla_nest_cancel(skb, start);
}
