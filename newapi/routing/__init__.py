"""Channel selection data: the channel-type registry and the group -> model routing index.

Pure code: nothing here imports Quart, Tortoise or Redis; :mod:`newapi.store.channels` loads
channels from the database and builds the index.
"""

from newapi.routing.index import ChannelSnapshot, RoutingIndex, Tier, split_list

__all__ = ["ChannelSnapshot", "RoutingIndex", "Tier", "split_list"]
