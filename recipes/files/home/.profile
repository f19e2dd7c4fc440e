# The agent's login profile inside airlock images.
export PS1='agent@airlock:\w\$ '
