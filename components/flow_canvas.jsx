// The Trellis canvas: React Flow with local interaction state. Python owns the graph; this file
// owns per-frame state (drag positions, selection, measured sizes) and sends only settled events.
import { memo, useCallback, useEffect, useRef, useState } from "react";
import {
  Background, Controls, Handle, MiniMap, Position, ReactFlow, ReactFlowProvider,
  applyEdgeChanges, applyNodeChanges, useReactFlow,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";

const DRAG_KIND = "application/x-trellis-node-kind";
const STATUS_COLOURS = {
  idle: "#a1a1aa", queued: "#f59e0b", running: "#3b82f6", succeeded: "#22c55e",
  failed: "#ef4444", skipped: "#94a3b8", cancelled: "#71717a", waiting: "#a855f7",
};

function handleTop(index, count) {
  return `${((index + 1) * 100) / (count + 1)}%`;
}

const StatusNode = memo(function StatusNode({ id, data, selected }) {
  const status = data.status || "idle";
  const issues = data.issues || [];
  const inputs = data.inputs || [];
  const outputs = data.outputs || [];
  const colour = STATUS_COLOURS[status] || STATUS_COLOURS.idle;
  return (
    <div
      data-testid={`node-${id}`}
      data-status={status}
      data-issues={issues.length}
      title={issues.join("\n")}
      className={`trellis-node trellis-node-${status}`}
      style={{
        minWidth: 170, padding: "8px 12px", borderRadius: 10, background: "var(--color-panel-solid, #fff)",
        border: `1.5px solid ${issues.length || status === "failed" ? "#ef4444" : selected ? "#6366f1" : "#d4d4d8"}`,
        opacity: status === "skipped" ? 0.55 : 1,
        boxShadow: status === "running" ? `0 0 0 4px ${colour}55` : "0 1px 3px #0000001a",
        fontSize: 12, position: "relative",
      }}
    >
      {inputs.map((name, i) => (
        <Handle key={`in-${name}`} id={name} type="target" position={Position.Left}
          style={{ top: handleTop(i, inputs.length) }} title={name} data-testid={`handle-${id}-in-${name}`} />
      ))}
      <div style={{ display: "flex", alignItems: "center", gap: 6 }}>
        <span className="status-badge" title={status}
          style={{ width: 9, height: 9, borderRadius: 9, background: colour, flex: "none" }} />
        <strong style={{ fontSize: 13 }}>{data.title || id}</strong>
        {issues.length ? <span style={{ color: "#ef4444", marginLeft: "auto" }}>⚠ {issues.length}</span> : null}
      </div>
      <div style={{ color: "#71717a", marginTop: 2 }}>{data.type} · {id}</div>
      {outputs.length > 1 ? (
        <div style={{ color: "#a1a1aa", fontSize: 10, marginTop: 2, textAlign: "right" }}>{outputs.join(" / ")}</div>
      ) : null}
      {outputs.map((name, i) => (
        <Handle key={`out-${name}`} id={name} type="source" position={Position.Right}
          style={{ top: handleTop(i, outputs.length) }} title={name} data-testid={`handle-${id}-out-${name}`} />
      ))}
    </div>
  );
});

const NoteNode = memo(function NoteNode({ id, data, selected }) {
  return (
    <div data-testid={`note-${id.slice(5)}`} style={{
      width: data.width || 220, minHeight: data.height || 120, padding: 10, borderRadius: 6,
      background: "#fef9c3", border: `1px solid ${selected ? "#ca8a04" : "#fde68a"}`,
      fontSize: 12, whiteSpace: "pre-wrap", color: "#422006",
    }}>{data.text || "Empty note: select it to edit the text."}</div>
  );
});

// Module level: a new object on every render would remount every node (React Flow warning 002).
const nodeTypes = { status: StatusNode, note: NoteNode };

// Server wins for graph fields; the browser keeps what only it knows (size, selection, a drag in progress).
// New nodes that arrive selected (dropped or pasted) take the selection over.
function mergeNodes(server, local) {
  const byId = new Map(local.map((n) => [n.id, n]));
  const takeOver = server.some((n) => n.selected && !byId.has(n.id));
  return server.map((n) => {
    const mine = byId.get(n.id);
    if (!mine) return n;
    return { ...n, measured: mine.measured, selected: takeOver ? false : mine.selected,
      position: mine.dragging ? mine.position : n.position, dragging: mine.dragging };
  });
}

function withStatuses(nodes, statusMap) {
  let changed = false;
  const next = nodes.map((n) => {
    const status = statusMap[n.id] || "idle";
    if (n.type !== "status" || (n.data.status || "idle") === status) return n;
    changed = true;
    return { ...n, data: { ...n.data, status } };
  });
  return changed ? next : nodes;
}

function mergeEdges(server, local) {
  const selected = new Set(local.filter((e) => e.selected).map((e) => e.id));
  return server.map((e) => (selected.has(e.id) ? { ...e, selected: true } : e));
}

// Live run status arrives as a snapshot (`statuses`, rare) plus a short window of numbered changes
// (`statusChanges`), so one change costs a few bytes whatever the graph size. A gap in the numbers
// (updates React batched away) asks Python for a fresh snapshot.
function useStatusMap(statuses, statusChanges, onStatusResync) {
  const state = useRef({ epoch: null, seq: 0, map: {} });
  const [version, setVersion] = useState(0);
  useEffect(() => {
    const s = state.current;
    if (!statuses) return;
    s.epoch = statuses.epoch; s.seq = statuses.seq || 0; s.map = { ...(statuses.map || {}) };
    setVersion((v) => v + 1);
  }, [statuses]);
  useEffect(() => {
    const s = state.current;
    if (!statusChanges || statusChanges.epoch !== s.epoch) return;
    const fresh = (statusChanges.items || []).filter((item) => item[0] > s.seq);
    if (!fresh.length) return;
    if (fresh[0][0] > s.seq + 1) { onStatusResync?.({ seq: s.seq }); return; }
    for (const [seq, nodeId, status] of fresh) { s.map[nodeId] = status; s.seq = seq; }
    setVersion((v) => v + 1);
  }, [statusChanges, onStatusResync]);
  return [state.current.map, version];
}

function isEditable(target) {
  const tag = target?.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target?.isContentEditable;
}

function useShortcuts({ onUndo, onRedo, onCopyNodes, onPasteText, selectedIds }) {
  useEffect(() => {
    const onKey = (e) => {
      if (isEditable(e.target) || !(e.ctrlKey || e.metaKey)) return;
      const key = e.key.toLowerCase();
      if (key === "z" && !e.shiftKey) { e.preventDefault(); onUndo?.(); }
      else if ((key === "z" && e.shiftKey) || key === "y") { e.preventDefault(); onRedo?.(); }
      else if (key === "c" && selectedIds.current.length) { onCopyNodes?.(selectedIds.current); }
    };
    const onPaste = (e) => {
      if (isEditable(e.target)) return;
      const text = e.clipboardData?.getData("text/plain");
      if (text) { e.preventDefault(); onPasteText?.(text); }
    };
    window.addEventListener("keydown", onKey);
    window.addEventListener("paste", onPaste);
    return () => { window.removeEventListener("keydown", onKey); window.removeEventListener("paste", onPaste); };
  }, [onUndo, onRedo, onCopyNodes, onPasteText, selectedIds]);
}

function useLeaveGuard(dirty) {
  useEffect(() => {
    if (!dirty) return undefined;
    const guard = (e) => { e.preventDefault(); e.returnValue = ""; };
    window.addEventListener("beforeunload", guard);
    return () => window.removeEventListener("beforeunload", guard);
  }, [dirty]);
}

function FlowInner({
  nodes: serverNodes, edges: serverEdges, statuses, statusChanges, dirty, fitNonce, readOnly,
  onNodesMoved, onConnectEdge, onDropNode, onDeleteItems, onSelectIds, onUndo, onRedo, onCopyNodes,
  onPasteText, onStatusResync, onFocusNode, ...rest
}) {
  const [nodes, setNodes] = useState(serverNodes ?? []);
  const [edges, setEdges] = useState(serverEdges ?? []);
  const selectedIds = useRef([]);
  const { screenToFlowPosition, fitView } = useReactFlow();
  const [statusMap, statusVersion] = useStatusMap(statuses, statusChanges, onStatusResync);

  // A graph change from Python re-merges everything; a status change touches only the nodes whose
  // status differs, so React Flow re-renders those and not the whole graph.
  const mergedServerNodes = useRef(serverNodes);
  useEffect(() => {
    if (serverNodes === mergedServerNodes.current) return; // the initial state already holds them
    mergedServerNodes.current = serverNodes;
    setNodes((cur) => mergeNodes(withStatuses(serverNodes ?? [], statusMap), cur));
  }, [serverNodes]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => setNodes((cur) => withStatuses(cur, statusMap)), [statusMap, statusVersion]);
  const mergedServerEdges = useRef(serverEdges);
  useEffect(() => {
    if (serverEdges === mergedServerEdges.current) return;
    mergedServerEdges.current = serverEdges;
    setEdges((cur) => mergeEdges(serverEdges ?? [], cur));
  }, [serverEdges]);
  useEffect(() => { if (fitNonce) fitView({ padding: 0.2, duration: 200 }); }, [fitNonce, fitView]);
  // The minimap draws every node again: mount it after the first paint of a large graph.
  const [showMap, setShowMap] = useState(false);
  useEffect(() => { const id = setTimeout(() => setShowMap(true), 300); return () => clearTimeout(id); }, []);
  useShortcuts({ onUndo, onRedo, onCopyNodes, onPasteText, selectedIds });
  useLeaveGuard(dirty);

  const onNodesChange = useCallback((changes) => setNodes((n) => applyNodeChanges(changes, n)), []);
  const onEdgesChange = useCallback((changes) => setEdges((e) => applyEdgeChanges(changes, e)), []);
  const onNodeDragStop = useCallback((_e, node, dragged) => onNodesMoved?.(
    (dragged?.length ? dragged : [node]).map((n) => ({ id: n.id, x: n.position.x, y: n.position.y }))),
  [onNodesMoved]);
  const onConnect = useCallback((c) => onConnectEdge?.({
    source: c.source, source_handle: c.sourceHandle || "out", target: c.target, target_handle: c.targetHandle || "in",
  }), [onConnectEdge]);
  const onDelete = useCallback(({ nodes: gone, edges: cut }) => onDeleteItems?.({
    nodes: gone.map((n) => n.id), edges: cut.map((e) => e.id),
  }), [onDeleteItems]);
  const onSelectionChange = useCallback(({ nodes: picked }) => {
    const ids = picked.map((n) => n.id);
    if (ids.join(",") === selectedIds.current.join(",")) return;
    selectedIds.current = ids;
    onSelectIds?.(ids);
  }, [onSelectIds]);
  const onNodeClick = useCallback((_e, n) => onFocusNode?.(n.id), [onFocusNode]);
  const onDragOver = useCallback((e) => { e.preventDefault(); e.dataTransfer.dropEffect = "move"; }, []);
  const onDrop = useCallback((e) => {
    const kind = e.dataTransfer.getData(DRAG_KIND);
    if (!kind || readOnly) return;
    e.preventDefault();
    const p = screenToFlowPosition({ x: e.clientX, y: e.clientY });
    onDropNode?.({ kind, x: Math.round(p.x), y: Math.round(p.y) });
  }, [screenToFlowPosition, onDropNode, readOnly]);

  return (
    <ReactFlow
      nodes={nodes} edges={edges} nodeTypes={nodeTypes} onNodesChange={onNodesChange} onEdgesChange={onEdgesChange}
      onNodeDragStop={onNodeDragStop} onConnect={onConnect} onDelete={onDelete}
      onSelectionChange={onSelectionChange} onNodeClick={onNodeClick} onDragOver={onDragOver} onDrop={onDrop}
      deleteKeyCode={readOnly ? null : ["Delete", "Backspace"]} nodesDraggable={!readOnly}
      nodesConnectable={!readOnly} selectionKeyCode="Shift" multiSelectionKeyCode={["Shift", "Meta", "Control"]}
      fitView fitViewOptions={{ padding: 0.2, maxZoom: 1.2 }} minZoom={0.05}
      defaultEdgeOptions={{ style: { strokeWidth: 1.5 } }} {...rest}
    >
      <Background gap={18} />
      <Controls />
      {showMap ? <MiniMap pannable zoomable /> : null}
    </ReactFlow>
  );
}

export function FlowCanvas(props) {
  return <ReactFlowProvider><FlowInner {...props} /></ReactFlowProvider>;
}
