package grid

import (
	"ritual/metrics"
	"ritual/sim"
)

// writeWorldMetrics writes the shared world's counts: what the frame loop
// chose to send, chat and instant messages.
func writeWorldMetrics(w *metrics.Writer, st sim.WorldStats) {
	w.One("ritual_world_frames_total", metrics.Counter, "Frames the region's world has stepped.", float64(st.Frames))
	w.One("ritual_world_frame_seconds", metrics.Gauge, "How long the last frame took.", st.FrameTime.Seconds())
	w.One("ritual_world_avatars", metrics.Gauge, "Avatars in the region's world.", float64(st.Avatars))
	w.One("ritual_world_view_entries", metrics.Gauge, "Avatars the agents are tracked as seeing, all agents together.", float64(st.ViewEntries))
	w.Family("ritual_world_passes_total", metrics.Counter, "Interest passes (choosing what one agent is sent), by outcome.")
	w.Sample(float64(st.Passes), metrics.L("outcome", "run"))
	w.Sample(float64(st.Skipped), metrics.L("outcome", "skipped_behind"))
	w.Family("ritual_world_updates_total", metrics.Counter, "Avatar updates sent to agents, by kind.")
	w.Sample(float64(st.FullUpdates), metrics.L("kind", "full"))
	w.Sample(float64(st.TerseUpdates), metrics.L("kind", "terse"))
	w.Sample(float64(st.Kills), metrics.L("kind", "kill"))
	w.Family("ritual_chat_total", metrics.Counter, "Chat lines handed to hearers, by outcome.")
	w.Sample(float64(st.ChatHeard), metrics.L("outcome", "heard"))
	w.Sample(float64(st.ChatDropped), metrics.L("outcome", "dropped_queue_full"))
	w.Sample(float64(st.ChatChannel), metrics.L("outcome", "other_channel"))
	w.Family("ritual_instant_messages_total", metrics.Counter, "Instant messages, by outcome.")
	w.Sample(float64(st.IMs), metrics.L("outcome", "delivered"))
	w.Sample(float64(st.IMsOffline), metrics.L("outcome", "stored_offline"))
	w.Sample(float64(st.IMsDelivered), metrics.L("outcome", "delivered_at_login"))
}
