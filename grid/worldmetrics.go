package grid

import (
	"github.com/prometheus/client_golang/prometheus"

	"ritual/sim"
)

// The shared world's families: what the frame loop chose to send, chat
// and instant messages.
var (
	famWorldFrames      = newFamily("ritual_world_frames_total", prometheus.CounterValue, "Frames the region's world has stepped.")
	famWorldFrameTime   = newFamily("ritual_world_frame_seconds", prometheus.GaugeValue, "How long the last frame took.")
	famWorldAvatars     = newFamily("ritual_world_avatars", prometheus.GaugeValue, "Avatars in the region's world.")
	famWorldViewEntries = newFamily("ritual_world_view_entries", prometheus.GaugeValue, "Avatars the agents are tracked as seeing, all agents together.")
	famWorldChildViews  = newFamily("ritual_world_child_views", prometheus.GaugeValue, "Child agents (root in a neighbouring region) sent the region's avatars.")
	famWorldPasses      = newFamily("ritual_world_passes_total", prometheus.CounterValue, "Interest passes (choosing what one agent is sent), by outcome.", "outcome")
	famWorldUpdates     = newFamily("ritual_world_updates_total", prometheus.CounterValue, "Avatar updates sent to agents, by kind.", "kind")
	famChat             = newFamily("ritual_chat_total", prometheus.CounterValue, "Chat lines handed to hearers, by outcome.", "outcome")
	famChatRelayed      = newFamily("ritual_chat_relayed_total", prometheus.CounterValue, "Chat lines handed to a neighbouring region (spoken near its border).")
	famIMs              = newFamily("ritual_instant_messages_total", prometheus.CounterValue, "Instant messages, by outcome.", "outcome")
)

// collectWorld emits the shared world's counts.
func collectWorld(ch chan<- prometheus.Metric, st sim.WorldStats) {
	emit(ch, famWorldFrames, st.Frames)
	ch <- prometheus.MustNewConstMetric(famWorldFrameTime.desc, famWorldFrameTime.typ, st.FrameTime.Seconds())
	emit(ch, famWorldAvatars, st.Avatars)
	emit(ch, famWorldViewEntries, st.ViewEntries)
	emit(ch, famWorldChildViews, st.ChildViews)
	emit(ch, famWorldPasses, st.Passes, "run")
	emit(ch, famWorldPasses, st.Skipped, "skipped_behind")
	emit(ch, famWorldUpdates, st.FullUpdates, "full")
	emit(ch, famWorldUpdates, st.TerseUpdates, "terse")
	emit(ch, famWorldUpdates, st.Kills, "kill")
	emit(ch, famChat, st.ChatHeard, "heard")
	emit(ch, famChat, st.ChatDropped, "dropped_queue_full")
	emit(ch, famChat, st.ChatChannel, "other_channel")
	emit(ch, famChatRelayed, st.ChatRelayed)
	emit(ch, famChat, st.ChatAcross, "heard_across_border")
	emit(ch, famIMs, st.IMs, "delivered")
	emit(ch, famIMs, st.IMsOffline, "stored_offline")
	emit(ch, famIMs, st.IMsDelivered, "delivered_at_login")
}
