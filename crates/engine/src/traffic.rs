//! Visit ratios from the traffic equations of an open network.
//!
//! With e the share of external arrivals entering each station and P the
//! call matrix (P[i][j] is the expected number of calls from one visit of i
//! to j), the visit ratios solve v = e + Pᵀ·v exactly. The stations are
//! split into strongly connected components and solved component by
//! component in topological order: a component without a cycle costs O(1),
//! and a cycle is solved as a dense linear system by Gaussian elimination
//! with partial pivoting. A cycle whose gain is 1 or more (spectral radius of
//! its block of P at least 1) makes the expected number of calls per request
//! infinite and is rejected.

/// An edge of the call graph: `to` is called with expected count `probability` per visit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Edge {
    pub(crate) to: usize,
    pub(crate) probability: f64,
}

/// Visit ratios and the structure found while computing them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Traffic {
    /// Visit ratio of each station: expected visits per external request.
    pub(crate) visit_ratios: Vec<f64>,
    /// Stations ordered so that every call goes from an earlier to a later
    /// component; valid as a call order only when `has_cycles` is false.
    pub(crate) topological_order: Vec<usize>,
    /// True when some station can be reached from itself.
    pub(crate) has_cycles: bool,
}

/// A cycle that would make a request call stations an infinite expected number of times.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DivergentCycle {
    pub(crate) stations: Vec<usize>,
}

/// Solves v = e + Pᵀ·v for the adjacency lists `calls` and entry shares `entry`.
pub(crate) fn solve_traffic(calls: &[Vec<Edge>], entry: &[f64]) -> Result<Traffic, DivergentCycle> {
    let station_count = calls.len();
    let mut incoming: Vec<Vec<(usize, f64)>> = vec![Vec::new(); station_count];
    for (from, edges) in calls.iter().enumerate() {
        for edge in edges {
            incoming[edge.to].push((from, edge.probability));
        }
    }

    let mut components = strongly_connected_components(calls);
    components.reverse(); // Tarjan yields sinks first; callers must come first.

    let mut component_of = vec![0; station_count];
    for (index, members) in components.iter().enumerate() {
        for &station in members {
            component_of[station] = index;
        }
    }

    let mut visit_ratios = vec![0.0; station_count];
    let mut has_cycles = false;
    for (index, members) in components.iter().enumerate() {
        // Inflow from stations already solved, plus external arrivals.
        let inflow: Vec<f64> = members
            .iter()
            .map(|&station| {
                let from_upstream: f64 = incoming[station]
                    .iter()
                    .filter(|(from, _)| component_of[*from] != index)
                    .map(|(from, probability)| visit_ratios[*from] * probability)
                    .sum();
                entry[station] + from_upstream
            })
            .collect();

        let is_cycle = members.len() > 1 || calls[members[0]].iter().any(|e| e.to == members[0]);
        if !is_cycle {
            visit_ratios[members[0]] = inflow[0];
            continue;
        }
        has_cycles = true;

        let matrix = cycle_matrix(calls, members, &component_of, index);
        if !is_convergent(&matrix) {
            return Err(DivergentCycle {
                stations: members.clone(),
            });
        }
        let solution = solve_linear(matrix, inflow).ok_or(DivergentCycle {
            stations: members.clone(),
        })?;
        for (&station, ratio) in members.iter().zip(solution) {
            visit_ratios[station] = ratio;
        }
    }

    let topological_order = components.into_iter().flatten().collect();
    Ok(Traffic {
        visit_ratios,
        topological_order,
        has_cycles,
    })
}

/// Builds I − Pᵀ restricted to one component, in the members' order.
fn cycle_matrix(
    calls: &[Vec<Edge>],
    members: &[usize],
    component_of: &[usize],
    component: usize,
) -> Vec<Vec<f64>> {
    let position = |station: usize| members.iter().position(|&m| m == station);
    let size = members.len();
    let mut matrix = vec![vec![0.0; size]; size];
    for (row, item) in matrix.iter_mut().enumerate() {
        item[row] = 1.0;
    }
    for (column, &from) in members.iter().enumerate() {
        for edge in &calls[from] {
            if component_of[edge.to] == component {
                let row = position(edge.to).expect("member of the component");
                matrix[row][column] -= edge.probability;
            }
        }
    }
    matrix
}

/// Tells whether the spectral radius of the component's call block is below 1.
///
/// For an irreducible non-negative block B, ρ(B) < 1 exactly when
/// (I − Bᵀ)·y = 1 has a solution with every y > 0 (an M-matrix criterion).
fn is_convergent(matrix: &[Vec<f64>]) -> bool {
    let ones = vec![1.0; matrix.len()];
    match solve_linear(matrix.to_vec(), ones) {
        Some(y) => y.iter().all(|value| value.is_finite() && *value > 0.0),
        None => false,
    }
}

/// Solves A·x = b by Gaussian elimination with partial pivoting; None if A is singular.
fn solve_linear(mut matrix: Vec<Vec<f64>>, mut rhs: Vec<f64>) -> Option<Vec<f64>> {
    let size = rhs.len();
    for pivot in 0..size {
        let best = (pivot..size)
            .max_by(|&a, &b| matrix[a][pivot].abs().total_cmp(&matrix[b][pivot].abs()))?;
        if matrix[best][pivot].abs() < 1e-13 {
            return None;
        }
        matrix.swap(pivot, best);
        rhs.swap(pivot, best);

        let (upper, lower) = matrix.split_at_mut(pivot + 1);
        let pivot_row = &upper[pivot];
        for (offset, row) in lower.iter_mut().enumerate() {
            let factor = row[pivot] / pivot_row[pivot];
            if factor == 0.0 {
                continue;
            }
            for column in pivot..size {
                row[column] -= factor * pivot_row[column];
            }
            rhs[pivot + 1 + offset] -= factor * rhs[pivot];
        }
    }

    let mut solution = vec![0.0; size];
    for row in (0..size).rev() {
        let tail: f64 = (row + 1..size)
            .map(|column| matrix[row][column] * solution[column])
            .sum();
        solution[row] = (rhs[row] - tail) / matrix[row][row];
    }
    Some(solution)
}

/// Tarjan's algorithm without recursion; components come out sinks first.
fn strongly_connected_components(calls: &[Vec<Edge>]) -> Vec<Vec<usize>> {
    const UNVISITED: usize = usize::MAX;
    let count = calls.len();
    let mut index = vec![UNVISITED; count];
    let mut low_link = vec![0; count];
    let mut on_stack = vec![false; count];
    let mut stack = Vec::new();
    let mut components = Vec::new();
    let mut next_index = 0;

    for root in 0..count {
        if index[root] != UNVISITED {
            continue;
        }
        // Each frame is a station and the position of the next edge to follow.
        let mut frames = vec![(root, 0usize)];
        index[root] = next_index;
        low_link[root] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack[root] = true;

        while let Some(&mut (station, ref mut edge_position)) = frames.last_mut() {
            if let Some(edge) = calls[station].get(*edge_position) {
                *edge_position += 1;
                let next = edge.to;
                if index[next] == UNVISITED {
                    index[next] = next_index;
                    low_link[next] = next_index;
                    next_index += 1;
                    stack.push(next);
                    on_stack[next] = true;
                    frames.push((next, 0));
                } else if on_stack[next] {
                    low_link[station] = low_link[station].min(index[next]);
                }
                continue;
            }

            frames.pop();
            if let Some(&(parent, _)) = frames.last() {
                low_link[parent] = low_link[parent].min(low_link[station]);
            }
            if low_link[station] == index[station] {
                let mut component = Vec::new();
                loop {
                    let member = stack.pop().expect("station is on the stack");
                    on_stack[member] = false;
                    component.push(member);
                    if member == station {
                        break;
                    }
                }
                component.sort_unstable();
                components.push(component);
            }
        }
    }
    components
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(to: usize, probability: f64) -> Edge {
        Edge { to, probability }
    }

    #[test]
    fn chain_multiplies_probabilities() {
        let calls = vec![vec![edge(1, 0.5)], vec![edge(2, 0.4)], vec![]];
        let traffic = solve_traffic(&calls, &[1.0, 0.0, 0.0]).unwrap();
        assert_eq!(traffic.visit_ratios, vec![1.0, 0.5, 0.2]);
        assert!(!traffic.has_cycles);
    }

    #[test]
    fn feedback_loop_gives_geometric_visits() {
        // 0 -> 1, 1 -> 0 with 0.5: v0 = 1 + 0.5 v1, v1 = v0, so v0 = v1 = 2.
        let calls = vec![vec![edge(1, 1.0)], vec![edge(0, 0.5)]];
        let traffic = solve_traffic(&calls, &[1.0, 0.0]).unwrap();
        assert!((traffic.visit_ratios[0] - 2.0).abs() < 1e-12);
        assert!((traffic.visit_ratios[1] - 2.0).abs() < 1e-12);
        assert!(traffic.has_cycles);
    }

    #[test]
    fn self_loop_below_one_converges() {
        // v = 1 + 0.75 v, so v = 4.
        let calls = vec![vec![edge(0, 0.75)]];
        let traffic = solve_traffic(&calls, &[1.0]).unwrap();
        assert!((traffic.visit_ratios[0] - 4.0).abs() < 1e-12);
    }

    #[test]
    fn cycle_with_gain_one_is_rejected() {
        let calls = vec![vec![edge(1, 1.0)], vec![edge(0, 1.0)]];
        let error = solve_traffic(&calls, &[1.0, 0.0]).unwrap_err();
        assert_eq!(error.stations, vec![0, 1]);
    }

    #[test]
    fn cycle_with_gain_above_one_is_rejected() {
        // Each visit of 0 calls 1 once and 1 calls 0 with 0.6 and 0 again via 2:
        // gain 0.6 + 1.0·0.9 = 1.5 per round.
        let calls = vec![
            vec![edge(1, 1.0)],
            vec![edge(0, 0.6), edge(2, 0.9)],
            vec![edge(0, 1.0)],
        ];
        assert!(solve_traffic(&calls, &[1.0, 0.0, 0.0]).is_err());
    }

    #[test]
    fn unreachable_divergent_cycle_is_rejected() {
        let calls = vec![vec![], vec![edge(2, 1.0)], vec![edge(1, 1.0)]];
        assert!(solve_traffic(&calls, &[1.0, 0.0, 0.0]).is_err());
    }
}
