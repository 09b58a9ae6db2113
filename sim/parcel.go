package sim

import (
	"encoding/binary"
	"time"

	"ritual"
	"ritual/caps"
	"ritual/protocol/llsd"
)

// The region is one parcel covering it whole, as a fresh OpenSimulator
// region is.
const (
	// parcelLocalID is the region's one parcel.
	parcelLocalID = 1
	// parcelName is the parcel's name (OpenSimulator's default).
	parcelName = "Your Parcel"
	// parcelFlags: AllowFly, AllowOtherScripts, AllowLandmark,
	// CreateObjects, AllowDeedToGroup, AllowAPrimitiveEntry,
	// AllowVoiceChat: what OpenSimulator gives a new region's parcel.
	parcelFlags = 1<<0 | 1<<1 | 1<<3 | 1<<6 | 1<<13 | 1<<27 | 1<<29
	// parcelLandingAnywhere is LandingType "anywhere".
	parcelLandingAnywhere = 2
	// parcelMaxPrims is the prim limit, as ObjectCapacity in EconomyData.
	parcelMaxPrims = 15000
	// parcelSequenceArrival is the SequenceID of the ParcelProperties sent
	// on arrival, asked by nobody.
	parcelSequenceArrival = 0
)

// parcelOwner returns the parcel's owner: the owner of the region's prims
// (the zero id for a generated region, which has no estate owner).
func (sc *scene) parcelOwner() ritual.UUID {
	if len(sc.objects) > 0 {
		return sc.objects[0].Owner
	}
	return ritual.ZeroUUID
}

// parcelProperties is the ParcelProperties event body describing the
// region's one parcel: the field set of OpenSimulator's, in its order.
// seq echoes the request's SequenceID; sel the request's SnapSelection.
func (r *Region) parcelProperties(seq int32, sel bool) map[string]any {
	info := r.info
	w, h := info.SizeX, info.SizeY
	if w == 0 {
		w = 256
	}
	if h == 0 {
		h = 256
	}
	// One bit per 4 m × 4 m cell; all set: the parcel is the region.
	bitmap := make([]byte, int(w/4)*int(h/4)/8)
	for i := range bitmap {
		bitmap[i] = 0xff
	}
	flags := make([]byte, 4)
	binary.BigEndian.PutUint32(flags, parcelFlags)
	zero := ritual.ZeroUUID
	claim := info.Created
	if claim.IsZero() {
		claim = time.Unix(0, 0)
	}
	pd := llsd.OrderedMap{
		{Key: "LocalID", Value: int32(parcelLocalID)},
		{Key: "AABBMax", Value: []any{float64(w), float64(h), 0.0}},
		{Key: "AABBMin", Value: []any{0.0, 0.0, 0.0}},
		{Key: "Area", Value: int32(w * h)},
		{Key: "AuctionID", Value: int32(0)},
		{Key: "AuthBuyerID", Value: zero},
		{Key: "Bitmap", Value: bitmap},
		{Key: "Category", Value: int32(0)},
		{Key: "ClaimDate", Value: claim.UTC().Truncate(time.Second)},
		{Key: "ClaimPrice", Value: int32(0)},
		{Key: "Desc", Value: ""},
		{Key: "ParcelFlags", Value: flags},
		{Key: "GroupID", Value: zero},
		{Key: "GroupPrims", Value: int32(0)},
		{Key: "IsGroupOwned", Value: false},
		{Key: "LandingType", Value: int32(parcelLandingAnywhere)},
		{Key: "MaxPrims", Value: int32(parcelMaxPrims)},
		{Key: "MediaID", Value: zero},
		{Key: "MediaURL", Value: ""},
		{Key: "MediaAutoScale", Value: false},
		{Key: "MusicURL", Value: ""},
		{Key: "Name", Value: parcelName},
		{Key: "OtherCleanTime", Value: int32(0)},
		{Key: "OtherCount", Value: int32(0)},
		{Key: "OtherPrims", Value: int32(0)},
		{Key: "OwnerID", Value: r.scene.parcelOwner()},
		{Key: "OwnerPrims", Value: int32(len(r.scene.objects))},
		{Key: "ParcelPrimBonus", Value: 1.0},
		{Key: "PassHours", Value: 0.0},
		{Key: "PassPrice", Value: int32(0)},
		{Key: "PublicCount", Value: int32(0)},
		{Key: "RegionDenyAnonymous", Value: false},
		{Key: "RegionDenyIdentified", Value: false},
		{Key: "RegionDenyTransacted", Value: false},
		{Key: "RegionPushOverride", Value: false},
		{Key: "RentPrice", Value: int32(0)},
		{Key: "RequestResult", Value: int32(0)},
		{Key: "SalePrice", Value: int32(0)},
		{Key: "SelectedPrims", Value: int32(0)},
		{Key: "SelfCount", Value: int32(0)},
		{Key: "SequenceID", Value: seq},
		{Key: "SimWideMaxPrims", Value: int32(parcelMaxPrims)},
		{Key: "SimWideTotalPrims", Value: int32(len(r.scene.objects))},
		{Key: "SnapSelection", Value: sel},
		{Key: "SnapshotID", Value: zero},
		{Key: "Status", Value: int32(0)}, // leased
		{Key: "TotalPrims", Value: int32(len(r.scene.objects))},
		{Key: "UserLocation", Value: []any{0.0, 0.0, 0.0}},
		{Key: "UserLookAt", Value: []any{0.0, 0.0, 0.0}},
		{Key: "SeeAVs", Value: true},
		{Key: "AnyAVSounds", Value: true},
		{Key: "GroupAVSounds", Value: true},
	}
	return map[string]any{
		"ParcelData": []any{pd},
		"MediaData": []any{llsd.OrderedMap{
			{Key: "MediaDesc", Value: ""},
			{Key: "MediaHeight", Value: int32(0)},
			{Key: "MediaWidth", Value: int32(0)},
			{Key: "MediaLoop", Value: false},
			{Key: "MediaType", Value: "none/none"},
			{Key: "ObscureMedia", Value: false},
			{Key: "ObscureMusic", Value: false},
		}},
		"ParcelExtendedFlags":  []any{llsd.OrderedMap{{Key: "Flags", Value: []byte{0, 0, 0, 0}}}},
		"AgeVerificationBlock": []any{llsd.OrderedMap{{Key: "RegionDenyAgeUnverified", Value: false}}},
		"ParcelEnvironmentBlock": []any{llsd.OrderedMap{
			{Key: "ParcelEnvironmentVersion", Value: int32(-1)},
			{Key: "RegionAllowEnvironmentOverride", Value: false},
		}},
		"RegionAllowAccessBlock": []any{llsd.OrderedMap{{Key: "RegionAllowAccessOverride", Value: true}}},
	}
}

// sendParcelProperties queues ParcelProperties on the agent's event queue:
// OpenSimulator greets an arrival, and answers a viewer's parcel
// questions, this way rather than over UDP. seq echoes a request's
// SequenceID, sel its SnapSelection.
func (a *agent) sendParcelProperties(seq int32, sel bool) {
	err := a.r.cfg.Caps.Enqueue(a.c.Agent, caps.Event{Message: "ParcelProperties", Body: a.r.parcelProperties(seq, sel)})
	if err != nil {
		a.r.cfg.Logger.Debug("sim: event not queued", "agent", a.c.Agent, "message", "ParcelProperties", "err", err)
	}
}
